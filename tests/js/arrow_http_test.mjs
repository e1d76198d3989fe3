// SPDX-License-Identifier: Apache-2.0
// End-to-end: Apache Arrow IPC stream bodies on the HTTP infer endpoint of the real inferd binary,
// built and read by the `apache-arrow` JavaScript package (Apache Arrow's own implementation,
// pinned and installed by scripts/fetch_apache_arrow_js.sh), run with Debian's nodejs. By ctest:
//
//   node tests/js/arrow_http_test.mjs --inferd build/bin/inferd
//       --arrow-modules third_party/apache-arrow-js/node_modules --example-repository examples/model_repository
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const require = createRequire(path.resolve(args['arrow-modules']) + '/');
const arrow = require('apache-arrow');
const MAX_INPUT_SIZE = 1 << 20;

// KServe datatype, config type, Arrow value type, typed array.
const DATATYPES = [
  ['BOOL', 'TYPE_BOOL', () => new arrow.Bool(), null],
  ['UINT8', 'TYPE_UINT8', () => new arrow.Uint8(), Uint8Array],
  ['UINT16', 'TYPE_UINT16', () => new arrow.Uint16(), Uint16Array],
  ['UINT32', 'TYPE_UINT32', () => new arrow.Uint32(), Uint32Array],
  ['UINT64', 'TYPE_UINT64', () => new arrow.Uint64(), BigUint64Array],
  ['INT8', 'TYPE_INT8', () => new arrow.Int8(), Int8Array],
  ['INT16', 'TYPE_INT16', () => new arrow.Int16(), Int16Array],
  ['INT32', 'TYPE_INT32', () => new arrow.Int32(), Int32Array],
  ['INT64', 'TYPE_INT64', () => new arrow.Int64(), BigInt64Array],
  ['FP16', 'TYPE_FP16', () => new arrow.Float16(), Uint16Array],
  ['FP32', 'TYPE_FP32', () => new arrow.Float32(), Float32Array],
  ['FP64', 'TYPE_FP64', () => new arrow.Float64(), Float64Array],
  ['BYTES', 'TYPE_STRING', () => new arrow.Binary(), null],
];

function writeRepository(root) {
  fs.mkdirSync(path.join(root, 'add_sub', '1'), { recursive: true });
  fs.copyFileSync(path.join(args['example-repository'], 'add_sub', 'config.pbtxt'),
                  path.join(root, 'add_sub', 'config.pbtxt'));
  const model = (name, type, batch, dims) => {
    fs.mkdirSync(path.join(root, name, '1'), { recursive: true });
    fs.writeFileSync(path.join(root, name, 'config.pbtxt'),
      `name: "${name}"\nbackend: "builtin"\nmax_batch_size: ${batch}\n` +
      `input [ { name: "INPUT0" data_type: ${type} dims: ${dims} } ]\n` +
      `output [ { name: "OUTPUT0" data_type: ${type} dims: ${dims} } ]\n` +
      'instance_group [ { count: 1 kind: KIND_CPU } ]\n' +
      'parameters { key: "builtin_model" value { string_value: "identity" } }\n');
  };
  for (const [name, type] of DATATYPES) model(`identity_${name.toLowerCase()}`, type, 0, '[ -1, -1 ]');
  model('batched_bytes', 'TYPE_STRING', 8, '[ 1 ]');
}

function startServer(repo) {
  return new Promise((resolve, reject) => {
    const proc = spawn(args.inferd, [`--model-repository=${repo}`, '--http-port=0', '--allow-grpc=false',
      '--allow-metrics=false', `--http-max-input-size=${MAX_INPUT_SIZE}`]);
    let out = '';
    let port = null;
    const onData = (d) => {
      out += d.toString();
      const m = out.match(/HTTP server listening on \S+:(\d+)/);
      if (m) port = Number(m[1]);
      if (port && out.includes('inferd ready')) resolve({ proc, port });
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', (code) => reject(new Error(`inferd exited ${code}:\n${out}`)));
    setTimeout(() => reject(new Error(`inferd did not start:\n${out}`)), 60000);
  });
}

// A deterministic typed array of `n` values for a datatype (raw bytes for BOOL/BYTES handled apart).
function values(name, Ctor, n, seed) {
  const bytes = new Uint8Array(n * Ctor.BYTES_PER_ELEMENT);
  let x = seed * 2654435761 >>> 0;
  for (let i = 0; i < bytes.length; ++i) { x = (x * 1103515245 + 12345) >>> 0; bytes[i] = x >>> 24; }
  if (name === 'FP16') for (let i = 1; i < bytes.length; i += 2) bytes[i] &= 0x3b;  // Finite halves.
  if (name === 'FP32') for (let i = 3; i < bytes.length; i += 4) bytes[i] &= 0x3f;
  if (name === 'FP64') for (let i = 7; i < bytes.length; i += 8) bytes[i] &= 0x3f;
  return new Ctor(bytes.buffer);
}

// A tensor column: FixedSizeList with the arrow.fixed_shape_tensor metadata, `rows` rows.
function tensorColumn(name, valueType, shape, rows, childData, metadataShape = shape) {
  const size = shape.reduce((a, b) => a * b, 1);
  const type = new arrow.FixedSizeList(size, new arrow.Field('item', valueType, false));
  const data = arrow.makeData({ type, length: rows, nullCount: 0, child: childData });
  const field = new arrow.Field(name, type, false, new Map([
    ['ARROW:extension:name', 'arrow.fixed_shape_tensor'],
    ['ARROW:extension:metadata', JSON.stringify({ shape: metadataShape })]]));
  return { field, data };
}

function childData(dtype, valueType, Ctor, n, seed) {
  if (dtype === 'BOOL') {
    const bits = new Uint8Array(Math.ceil(n / 8));
    for (let i = 0; i < n; ++i) if ((i * 7 + seed) % 3 === 0) bits[i >> 3] |= 1 << (i & 7);
    return arrow.makeData({ type: valueType, length: n, nullCount: 0, data: bits });
  }
  if (dtype === 'BYTES') {
    const offsets = new Int32Array(n + 1);
    const parts = [];
    for (let i = 0; i < n; ++i) {
      const s = Buffer.from(`s${seed}-${i}-` + 'x'.repeat(i % 5));
      parts.push(s);
      offsets[i + 1] = offsets[i] + s.length;
    }
    return arrow.makeData({ type: valueType, length: n, nullCount: 0, valueOffsets: offsets,
                            data: new Uint8Array(Buffer.concat(parts)) });
  }
  return arrow.makeData({ type: valueType, length: n, nullCount: 0, data: values(dtype, Ctor, n, seed) });
}

function stream(columns, batches = 1) {
  const schema = new arrow.Schema(columns.map((c) => c.field));
  const struct = arrow.makeData({ type: new arrow.Struct(schema.fields), length: columns[0].data.length,
                                  nullCount: 0, children: columns.map((c) => c.data) });
  const batch = new arrow.RecordBatch(schema, struct);
  return arrow.tableToIPC(new arrow.Table(Array(batches).fill(batch)), 'stream');
}

let PORT;
async function post(model, body, headers = {}) {
  const r = await fetch(`http://127.0.0.1:${PORT}/v2/models/${model}/infer`, {
    method: 'POST', body, headers: { 'Content-Type': 'application/vnd.apache.arrow.stream', ...headers } });
  return { status: r.status, type: r.headers.get('content-type'), body: new Uint8Array(await r.arrayBuffer()) };
}

// The bytes of a column's values as Arrow holds them (Binary: offsets then data).
function childBytes(data) {
  const c = data.children[0];
  if (c.valueOffsets) return [Buffer.from(c.valueOffsets.buffer, c.valueOffsets.byteOffset, c.valueOffsets.byteLength),
                              Buffer.from(c.values.buffer, c.values.byteOffset, c.values.byteLength)];
  const n = c.type instanceof arrow.Bool ? Math.ceil(c.length / 8) : c.values.byteLength;
  return [Buffer.from(c.values.buffer, c.values.byteOffset, n)];
}

async function assertStillServing() {
  const col = tensorColumn('INPUT0', new arrow.Float32(), [1, 2], 1,
                           arrow.makeData({ type: new arrow.Float32(), length: 2, data: new Float32Array([1, 2]) }));
  const r = await post('identity_fp32', stream([col]));
  assert.equal(r.status, 200, Buffer.from(r.body).toString());
  assert.deepEqual([...arrow.tableFromIPC(r.body).batches[0].data.children[0].children[0].values], [1, 2]);
}

async function assertError(r, status, ...words) {
  assert.equal(r.status, status, Buffer.from(r.body).toString());
  const message = JSON.parse(Buffer.from(r.body).toString()).error;
  for (const w of words) assert.ok(message.includes(w), `${JSON.stringify(message)} lacks ${JSON.stringify(w)}`);
  await assertStillServing();
}

const tests = {
  async everyDatatypeRoundTripsWithShapes() {
    let seed = 0;
    for (const [name, , makeType, Ctor] of DATATYPES) {
      for (const shape of [[2, 3], [1, 7], [4, 0]]) {
        const n = shape[0] * shape[1];
        const col = tensorColumn('INPUT0', makeType(), shape, 1, childData(name, makeType(), Ctor, n, ++seed));
        const r = await post(`identity_${name.toLowerCase()}`, stream([col]));
        assert.equal(r.status, 200, `${name} ${shape}: ${Buffer.from(r.body).toString()}`);
        assert.equal(r.type, 'application/vnd.apache.arrow.stream');
        const table = arrow.tableFromIPC(r.body);
        assert.equal(table.batches.length, 1);
        const field = table.schema.fields[0];
        assert.equal(field.name, 'OUTPUT0');
        assert.equal(field.metadata.get('ARROW:extension:name'), 'arrow.fixed_shape_tensor');
        assert.deepEqual(JSON.parse(field.metadata.get('ARROW:extension:metadata')).shape, shape);
        assert.equal(field.type.listSize, n);
        assert.equal(String(field.type.children[0].type), String(makeType()));
        const sent = childBytes(col.data), got = childBytes(table.batches[0].data.children[0]);
        assert.equal(got.length, sent.length);
        for (let i = 0; i < got.length; ++i) assert.ok(got[i].equals(sent[i]), `${name} ${shape}: values differ`);
      }
    }
  },

  async batchedModelRowsAreBatchItems() {
    const rows = 3;
    const a = new Int32Array(rows * 16).map((_, i) => i);
    const b = new Int32Array(rows * 16).fill(2);
    const mk = (name, arr) => tensorColumn(name, new arrow.Int32(), [16], rows,
      arrow.makeData({ type: new arrow.Int32(), length: arr.length, data: arr }));
    const r = await post('add_sub', stream([mk('INPUT0', a), mk('INPUT1', b)]));
    assert.equal(r.status, 200, Buffer.from(r.body).toString());
    const t = arrow.tableFromIPC(r.body);
    assert.deepEqual(t.schema.fields.map((f) => f.name), ['OUTPUT0', 'OUTPUT1']);
    assert.equal(t.numRows, rows);
    assert.deepEqual([...t.batches[0].data.children[0].children[0].values], [...a].map((x) => x + 2));
    assert.deepEqual([...t.batches[0].data.children[1].children[0].values], [...a].map((x) => x - 2));
    // A Binary column: one BYTES element per row (batch item); the answer as JSON.
    const words = ['alpha', '', 'gamma'];
    const offsets = new Int32Array([0, 5, 5, 10]);
    const bin = arrow.makeData({ type: new arrow.Binary(), length: 3, nullCount: 0, valueOffsets: offsets,
                                 data: new Uint8Array(Buffer.from(words.join(''))) });
    const r2 = await post('batched_bytes', stream([{ field: new arrow.Field('INPUT0', new arrow.Binary(), false), data: bin }]),
                          { Accept: 'application/json' });
    assert.equal(r2.status, 200, Buffer.from(r2.body).toString());
    const out = JSON.parse(Buffer.from(r2.body).toString()).outputs[0];
    assert.deepEqual(out.shape, [3, 1]);
    assert.deepEqual(out.data, words);
  },

  async noRecordBatch() {
    const col = tensorColumn('INPUT0', new arrow.Float32(), [1, 2], 1,
                             arrow.makeData({ type: new arrow.Float32(), length: 2, data: new Float32Array(2) }));
    const schema = new arrow.Schema([col.field]);
    const bytes = arrow.RecordBatchStreamWriter.writeAll(new arrow.Table(schema)).toUint8Array(true);
    await assertError(await post('identity_fp32', bytes), 400, 'no record batch');
  },

  async twoRecordBatches() {
    const col = tensorColumn('INPUT0', new arrow.Float32(), [1, 2], 1,
                             arrow.makeData({ type: new arrow.Float32(), length: 2, data: new Float32Array(2) }));
    await assertError(await post('identity_fp32', stream([col], 2)), 400, 'has 2 record batches');
  },

  async listSizeDisagreesWithShapeMetadata() {
    const col = tensorColumn('INPUT0', new arrow.Float32(), [2, 3], 1,
                             arrow.makeData({ type: new arrow.Float32(), length: 6, data: new Float32Array(6) }), [2, 2]);
    await assertError(await post('identity_fp32', stream([col])), 400, "'INPUT0'", '6 values per row', '[2,2]');
  },

  async unknownColumnAndMissingInput() {
    const f = () => arrow.makeData({ type: new arrow.Float32(), length: 2, data: new Float32Array(2) });
    await assertError(await post('identity_fp32', stream([tensorColumn('INPUT0', new arrow.Float32(), [1, 2], 1, f()),
                                                          tensorColumn('NOPE', new arrow.Float32(), [1, 2], 1, f())])),
                      400, 'NOPE');
    const i = arrow.makeData({ type: new arrow.Int32(), length: 16, data: new Int32Array(16) });
    await assertError(await post('add_sub', stream([tensorColumn('INPUT0', new arrow.Int32(), [16], 1, i)])), 400, 'INPUT1');
  },

  async wrongShapeForTheModel() {
    const col = tensorColumn('INPUT0', new arrow.Float32(), [2, 1, 1], 1,
                             arrow.makeData({ type: new arrow.Float32(), length: 2, data: new Float32Array(2) }));
    await assertError(await post('identity_fp32', stream([col])), 400, 'INPUT0', '[2,1,1]');
  },

  async dictionaryColumnIsRefused() {
    const dict = arrow.vectorFromArray(['a', 'b', 'a'], new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32()));
    const bytes = arrow.tableToIPC(new arrow.Table({ INPUT0: dict }), 'stream');
    await assertError(await post('identity_bytes', bytes), 400, 'dictionar');
  },

  async bodyOverTheSizeLimit() {
    const n = MAX_INPUT_SIZE / 4 + 16;
    const col = tensorColumn('INPUT0', new arrow.Float32(), [1, n], 1,
                             arrow.makeData({ type: new arrow.Float32(), length: n, data: new Float32Array(n) }));
    await assertError(await post('identity_fp32', stream([col])), 413, '--http-max-input-size');
  },

  async acceptTheServerCannotProduce() {
    const col = tensorColumn('INPUT0', new arrow.Float32(), [1, 2], 1,
                             arrow.makeData({ type: new arrow.Float32(), length: 2, data: new Float32Array(2) }));
    await assertError(await post('identity_fp32', stream([col]), { Accept: 'text/csv' }), 406,
                      "'text/csv'", 'application/vnd.apache.arrow.stream');
  },
};

const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'inferd_arrow_js_'));
let server;
let failed = 0;
try {
  writeRepository(repo);
  server = await startServer(repo);
  PORT = server.port;
  for (const [name, test] of Object.entries(tests)) {
    try {
      await test();
      console.log(`ok   ${name}`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${name}: ${e.stack}`);
    }
  }
} finally {
  if (server) server.proc.kill('SIGTERM');
  fs.rmSync(repo, { recursive: true, force: true });
}
console.log(failed ? `${failed} failed` : 'all passed');
process.exit(failed ? 1 : 0);
