// SPDX-License-Identifier: Apache-2.0
// Validates deploy/kubernetes/*.yaml (issue 21):
//  - Kubernetes kinds against the API's schemas (kubernetes-models: types, required fields,
//    enums), plus a strict check that every field exists (the schemas accept unknown ones; the
//    API server drops them silently), read from kubernetes-models' type declarations;
//  - KServe kinds (ServingRuntime, InferenceService) against the fields KServe's API types
//    declare (KServeFields below), their containers as Kubernetes containers;
//  - what ties the files to inferd: every INFERD_* variable and --flag is one of the binary's
//    (--print-config), probes on /v2/health/{live,ready}, the grace period covering preStop + drain
//    delay + exit timeout, the Service's ports and selector, the gRPC port's h2c protocol, the HPA's
//    target and metric, the adapter rule's metric names exported by inferd, the Containerfile.
//
// Usage: node validate.mjs <folder with the manifests> <inferd binary> <source root>
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import yaml from "js-yaml";
import { Service, ConfigMap } from "kubernetes-models/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";

const [manifestDir, inferdBinary, sourceRoot] = process.argv.slice(2);
if (!manifestDir || !inferdBinary || !sourceRoot) {
  console.error("usage: node validate.mjs MANIFEST_DIR INFERD_BINARY SOURCE_ROOT");
  process.exit(2);
}
const here = path.dirname(fileURLToPath(import.meta.url));
const models = path.join(here, "node_modules", "kubernetes-models");
const errors = [];
const fail = (where, message) => errors.push(`${where}: ${message}`);

// ---- Strict field check from kubernetes-models' .d.ts files ----
// The first `export interface` of a declaration file: its properties and their types.
const interfaceCache = new Map();
function readInterface(file) {
  if (interfaceCache.has(file)) return interfaceCache.get(file);
  const text = fs.readFileSync(file, "utf8");
  const imports = new Map();
  for (const m of text.matchAll(/import \{ ([^}]+) \} from "([^"]+)";/g)) {
    for (const name of m[1].split(",").map((s) => s.trim())) imports.set(name, m[2]);
  }
  const body = text.match(/export interface \w+(?: extends [^{]+)? \{([\s\S]*?)\n\}/);
  const props = new Map();
  if (body) {
    const withoutComments = body[1].replace(/\/\*\*[\s\S]*?\*\//g, "");
    // Properties sit at four spaces (a type may go on over further lines).
    for (const m of withoutComments.matchAll(/^ {4}"([^"]+)"\??: (.*?);?$/gm)) props.set(m[1], m[2]);
  }
  const result = { file, imports, props };
  interfaceCache.set(file, result);
  return result;
}
function resolveImport(fromFile, spec) {
  const target = spec.startsWith(".")
    ? path.resolve(path.dirname(fromFile), spec)
    : path.join(here, "node_modules", spec);
  return target.replace(/\.js$/, "") + ".d.ts";
}
// The declaration file of a property's type when it is an object (or array of objects) type.
function childType(iface, type) {
  const m = type.match(/^(?:Array<)?(I\w+)>?$/);
  if (!m || !iface.imports.has(m[1])) return null;
  return resolveImport(iface.file, iface.imports.get(m[1]));
}
function strictCheck(value, file, where, extraFields = new Set()) {
  if (value === null || typeof value !== "object") return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => strictCheck(v, file, `${where}[${i}]`));
    return;
  }
  const iface = readInterface(file);
  for (const [key, v] of Object.entries(value)) {
    if (!iface.props.has(key)) {
      if (!extraFields.has(key)) fail(where, `unknown field "${key}"`);
      continue;
    }
    const child = childType(iface, iface.props.get(key));
    if (child) strictCheck(v, child, `${where}.${key}`);
  }
}
const decl = (rel) => path.join(models, rel);

const kubernetesKinds = {
  "v1/Service": [Service, decl("v1/Service.d.ts")],
  "v1/ConfigMap": [ConfigMap, decl("v1/ConfigMap.d.ts")],
  "apps/v1/Deployment": [Deployment, decl("apps/v1/Deployment.d.ts")],
  "autoscaling/v2/HorizontalPodAutoscaler": [
    HorizontalPodAutoscaler,
    decl("autoscaling/v2/HorizontalPodAutoscaler.d.ts"),
  ],
  "policy/v1/PodDisruptionBudget": [PodDisruptionBudget, decl("policy/v1/PodDisruptionBudget.d.ts")],
};

// ---- KServe: the fields of its API types (pkg/apis/serving/v1alpha1/servingruntime_types.go,
// v1beta1/predictor.go, component.go, model.go), as KServe documents them. ----
const podSpecFields = new Set(readInterface(decl("v1/PodSpec.d.ts")).props.keys());
const containerFields = new Set(readInterface(decl("v1/Container.d.ts")).props.keys());
const KServeFields = {
  servingRuntimeSpec: new Set([
    "supportedModelFormats", "multiModel", "disabled", "protocolVersions", "workerSpec",
    "containers", "volumes", "nodeSelector", "affinity", "tolerations", "labels", "annotations",
    "imagePullSecrets", "hostIPC", "grpcEndpoint", "grpcDataEndpoint", "httpDataEndpoint",
    "replicas", "storageHelper", "builtInAdapter",
  ]),
  supportedModelFormat: new Set(["name", "version", "autoSelect", "priority"]),
  protocols: new Set(["v1", "v2", "grpc-v1", "grpc-v2"]),
  predictorOwn: new Set([
    "sklearn", "xgboost", "tensorflow", "pytorch", "triton", "onnx", "huggingface", "pmml",
    "lightgbm", "paddle", "model", "storageUris", "workerSpec",
  ]),
  componentExtension: new Set([
    "minReplicas", "maxReplicas", "scaleTarget", "scaleMetric", "scaleMetricType",
    "containerConcurrency", "timeout", "canaryTrafficPercent", "logger", "batcher", "labels",
    "annotations", "deploymentStrategy", "autoScaling",
  ]),
  modelOwn: new Set(["modelFormat", "runtime", "storageUri", "runtimeVersion", "protocolVersion",
    "storage"]),
  modelFormat: new Set(["name", "version"]),
  inferenceServiceSpec: new Set(["predictor", "explainer", "transformer"]),
};
function onlyFields(obj, allowed, where) {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    fail(where, "must be an object");
    return;
  }
  for (const key of Object.keys(obj)) {
    if (!allowed.has(key)) fail(where, `unknown field "${key}"`);
  }
}
function checkContainer(c, where) {
  strictCheck(c, decl("v1/Container.d.ts"), where);
  const { Container } = kubernetesCore;
  try {
    new Container(c).validate();
  } catch (e) {
    fail(where, e.message);
  }
}
const kubernetesCore = await import("kubernetes-models/v1");

function checkServingRuntime(doc, where) {
  const spec = doc.spec ?? {};
  onlyFields(spec, KServeFields.servingRuntimeSpec, `${where}.spec`);
  for (const [i, f] of (spec.supportedModelFormats ?? []).entries()) {
    onlyFields(f, KServeFields.supportedModelFormat, `${where}.spec.supportedModelFormats[${i}]`);
    if (typeof f.name !== "string") fail(where, "supportedModelFormats[].name is required");
    if (f.version !== undefined && typeof f.version !== "string") {
      fail(where, `supportedModelFormats[${i}].version must be a string`);
    }
    if (f.priority !== undefined && !(Number.isInteger(f.priority) && f.priority >= 1)) {
      fail(where, `supportedModelFormats[${i}].priority must be an integer >= 1`);
    }
  }
  for (const p of spec.protocolVersions ?? []) {
    if (!KServeFields.protocols.has(p)) fail(where, `unknown protocol version "${p}"`);
  }
  if (!Array.isArray(spec.containers) || spec.containers.length === 0) {
    fail(where, "spec.containers is required");
  }
  (spec.containers ?? []).forEach((c, i) => checkContainer(c, `${where}.spec.containers[${i}]`));
}

function checkInferenceService(doc, where) {
  const spec = doc.spec ?? {};
  onlyFields(spec, KServeFields.inferenceServiceSpec, `${where}.spec`);
  const predictor = spec.predictor;
  if (!predictor) return fail(where, "spec.predictor is required");
  const allowed = new Set([...KServeFields.predictorOwn, ...KServeFields.componentExtension,
    ...podSpecFields]);
  onlyFields(predictor, allowed, `${where}.spec.predictor`);
  const model = predictor.model;
  if (!model) return fail(where, "spec.predictor.model is expected (the runtime's model spec)");
  onlyFields(model, new Set([...KServeFields.modelOwn, ...containerFields]),
    `${where}.spec.predictor.model`);
  onlyFields(model.modelFormat ?? {}, KServeFields.modelFormat,
    `${where}.spec.predictor.model.modelFormat`);
  if (typeof model.modelFormat?.name !== "string") fail(where, "modelFormat.name is required");
  if (model.protocolVersion && !KServeFields.protocols.has(model.protocolVersion)) {
    fail(where, `unknown protocolVersion "${model.protocolVersion}"`);
  }
}

// ---- Load everything ----
const docs = [];
for (const name of fs.readdirSync(manifestDir).filter((f) => f.endsWith(".yaml")).sort()) {
  const text = fs.readFileSync(path.join(manifestDir, name), "utf8");
  yaml.loadAll(text, (doc) => {
    if (doc) docs.push({ doc, where: `${name} ${doc.kind}/${doc.metadata?.name}` });
  });
}
const byKind = (kind) => docs.filter((d) => d.doc.kind === kind);

for (const { doc, where } of docs) {
  const key = `${doc.apiVersion}/${doc.kind}`;
  if (kubernetesKinds[key]) {
    const [Model, file] = kubernetesKinds[key];
    try {
      new Model(doc).validate();
    } catch (e) {
      fail(where, e.message);
    }
    strictCheck(doc, file, where);
  } else if (key === "serving.kserve.io/v1alpha1/ServingRuntime" ||
             key === "serving.kserve.io/v1alpha1/ClusterServingRuntime") {
    checkServingRuntime(doc, where);
  } else if (key === "serving.kserve.io/v1beta1/InferenceService") {
    checkInferenceService(doc, where);
  } else {
    fail(where, `no schema for ${key}`);
  }
}

// ---- What ties the manifests to inferd ----
const settings = new Map(
  execFileSync(inferdBinary, ["--print-config"], {
    env: { INFERD_MODEL_REPOSITORY: "/mnt/models" },
    encoding: "utf8",
  })
    .split("\n")
    .filter((l) => l.includes("="))
    .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
);
const flagVariable = (flag) => "INFERD_" + flag.replace(/^--/, "").replace(/=.*/, "")
  .toUpperCase().replaceAll("-", "_");

// The effective value of a setting for a container: args, then env, then the default.
function setting(container, variable) {
  for (const a of container.args ?? []) {
    if (flagVariable(a) === variable && a.includes("=")) return a.slice(a.indexOf("=") + 1);
  }
  const env = (container.env ?? []).find((e) => e.name === variable);
  return env ? env.value : settings.get(variable);
}

function checkInferdContainer(c, podSpec, where, { graceFrom }) {
  for (const a of c.args ?? []) {
    if (!settings.has(flagVariable(a))) fail(where, `inferd has no flag ${a.replace(/=.*/, "")}`);
  }
  for (const e of c.env ?? []) {
    if (e.name.startsWith("INFERD_") && !settings.has(e.name)) {
      fail(where, `inferd has no setting ${e.name}`);
    }
  }
  const httpPort = Number(setting(c, "INFERD_HTTP_PORT"));
  const portOf = (p) => (typeof p === "number" ? p
    : (c.ports ?? []).find((cp) => cp.name === p)?.containerPort);
  for (const [probe, pathWanted] of [["readinessProbe", "/v2/health/ready"],
                                     ["livenessProbe", "/v2/health/live"]]) {
    const get = c[probe]?.httpGet;
    if (!get) {
      fail(where, `${probe} on ${pathWanted} is missing`);
      continue;
    }
    if (get.path !== pathWanted) fail(where, `${probe} must GET ${pathWanted}, not ${get.path}`);
    if (portOf(get.port) !== httpPort) fail(where, `${probe} port is not inferd's HTTP port ${httpPort}`);
  }
  const preStop = c.lifecycle?.preStop?.exec?.command;
  if (!preStop) fail(where, "lifecycle.preStop is missing");
  const preStopSecs = preStop && preStop[0].endsWith("sleep") ? Number(preStop[1]) : 0;
  const drain = Number(setting(c, "INFERD_DRAIN_DELAY_SECS"));
  const exit = Number(setting(c, "INFERD_EXIT_TIMEOUT_SECS"));
  const grace = graceFrom?.terminationGracePeriodSeconds ?? podSpec?.terminationGracePeriodSeconds ?? 30;
  if (!(grace > preStopSecs + drain + exit)) {
    fail(where, `terminationGracePeriodSeconds ${grace} does not cover preStop ${preStopSecs} s + ` +
      `drain delay ${drain} s + exit timeout ${exit} s`);
  }
  if (drain <= 0) fail(where, "INFERD_DRAIN_DELAY_SECS should be > 0 behind a load balancer");
}

for (const { doc, where } of byKind("Deployment")) {
  const pod = doc.spec.template.spec;
  const c = pod.containers[0];
  checkInferdContainer(c, pod, where, {});
  const labels = doc.spec.template.metadata?.labels ?? {};
  const matches = (selector) => Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
  if (!matches(doc.spec.selector.matchLabels)) fail(where, "selector does not match the pod labels");
  if (setting(c, "INFERD_MODEL_REPOSITORY") !== "/mnt/models") {
    fail(where, "the model repository should be /mnt/models (KServe's mount point)");
  }
  for (const s of byKind("Service")) {
    if (!matches(s.doc.spec.selector)) fail(s.where, "selector does not match the Deployment's pods");
    for (const p of s.doc.spec.ports) {
      const target = (c.ports ?? []).find((cp) => cp.name === p.targetPort || cp.containerPort === p.targetPort);
      if (!target) fail(s.where, `targetPort ${p.targetPort} is no container port`);
      const grpcPort = Number(setting(c, "INFERD_GRPC_PORT"));
      if (target?.containerPort === grpcPort && p.appProtocol !== "kubernetes.io/h2c") {
        fail(s.where, `the gRPC port ${p.name} needs appProtocol kubernetes.io/h2c`);
      }
    }
  }
  for (const p of byKind("PodDisruptionBudget")) {
    if (!matches(p.doc.spec.selector.matchLabels)) fail(p.where, "selector does not match the pods");
  }
  for (const h of byKind("HorizontalPodAutoscaler")) {
    const ref = h.doc.spec.scaleTargetRef;
    if (ref.kind !== "Deployment" || ref.name !== doc.metadata.name) {
      fail(h.where, "scaleTargetRef is not the inferd Deployment");
    }
  }
}

// The HPA's metric comes from the adapter rule, whose series inferd exports.
const adapterRules = byKind("ConfigMap").flatMap((d) =>
  yaml.load(d.doc.data?.["config.yaml"] ?? "rules: []").rules ?? []);
const collector = fs.readFileSync(path.join(sourceRoot, "src/metrics/serving_collector.cc"), "utf8");
for (const rule of adapterRules) {
  for (const series of rule.metricsQuery.matchAll(/\b(nv_inference_\w+)\{/g)) {
    if (!collector.includes(`"${series[1]}"`)) fail("prometheus-adapter.yaml", `inferd exports no ${series[1]}`);
  }
}
for (const h of byKind("HorizontalPodAutoscaler")) {
  for (const m of h.doc.spec.metrics) {
    if (m.type === "Pods" && !adapterRules.some((r) => r.name?.as === m.pods.metric.name)) {
      fail(h.where, `no adapter rule serves the metric ${m.pods.metric.name}`);
    }
  }
}

for (const { doc, where } of [...byKind("ServingRuntime"), ...byKind("ClusterServingRuntime")]) {
  const c = (doc.spec.containers ?? [])[0] ?? {};
  if (c.name !== "kserve-container") fail(where, "KServe's runtime container is named kserve-container");
  const formats = new Set((doc.spec.supportedModelFormats ?? []).map((f) => f.name));
  for (const f of ["onnx", "pytorch"]) if (!formats.has(f)) fail(where, `format ${f} is missing`);
  for (const p of ["v2", "grpc-v2"]) {
    if (!(doc.spec.protocolVersions ?? []).includes(p)) fail(where, `protocol ${p} is missing`);
  }
  if (setting(c, "INFERD_HTTP_PORT") !== "8080") fail(where, "KServe expects HTTP on 8080");
  if (setting(c, "INFERD_GRPC_PORT") !== "9000") fail(where, "KServe expects gRPC on 9000");
  if (setting(c, "INFERD_MODEL_REPOSITORY") !== "/mnt/models") fail(where, "KServe mounts models on /mnt/models");
  const isvc = byKind("InferenceService").find((i) => i.doc.spec.predictor.model.runtime === doc.metadata.name);
  if (!isvc) fail(where, "no InferenceService example uses this runtime");
  checkInferdContainer(c, null, where, { graceFrom: isvc?.doc.spec.predictor });
}
for (const { doc, where } of byKind("InferenceService")) {
  const model = doc.spec.predictor.model;
  const runtime = [...byKind("ServingRuntime"), ...byKind("ClusterServingRuntime")]
    .find((r) => r.doc.metadata.name === model.runtime);
  if (!runtime) {
    fail(where, `runtime ${model.runtime} is not defined here`);
  } else if (!(runtime.doc.spec.supportedModelFormats ?? []).some((f) => f.name === model.modelFormat.name)) {
    fail(where, `runtime ${model.runtime} does not support ${model.modelFormat.name}`);
  }
}

// ---- The Containerfile ----
const containerfile = fs.readFileSync(path.join(sourceRoot, "deploy/Containerfile"), "utf8");
for (const m of containerfile.matchAll(/\b(INFERD_[A-Z_]+)=/g)) {
  if (!settings.has(m[1])) fail("Containerfile", `inferd has no setting ${m[1]}`);
}
const expose = new Set([...containerfile.matchAll(/^EXPOSE (.+)$/gm)].flatMap((m) => m[1].split(/\s+/)));
for (const port of ["8080", "9000", "8002"]) {
  if (!expose.has(port)) fail("Containerfile", `port ${port} is not exposed`);
}
for (const needle of ["FROM debian:12-slim", "STOPSIGNAL SIGTERM", "/v2/health/ready", "USER ",
                      "INFERD_MODEL_REPOSITORY=/mnt/models"]) {
  if (!containerfile.includes(needle)) fail("Containerfile", `missing ${needle}`);
}

if (errors.length) {
  for (const e of errors) console.error(`FAIL ${e}`);
  process.exit(1);
}
console.log(`ok: ${docs.length} resources in ${manifestDir} (${docs.map((d) => d.doc.kind).join(", ")}) and the Containerfile`);
