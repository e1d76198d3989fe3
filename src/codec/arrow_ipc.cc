// SPDX-License-Identifier: Apache-2.0
#include "codec/arrow_ipc.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "arrow_format_generated.h"
#include "codec/json_document.h"
#include "core/client_text.h"
#include "fmt/format.h"

namespace inferd::codec {
namespace {

namespace fb = ::inferd::arrow_fb;

constexpr uint32_t kContinuation = 0xFFFFFFFFu;
constexpr std::string_view kExtensionName = "ARROW:extension:name";
constexpr std::string_view kExtensionMetadata = "ARROW:extension:metadata";
constexpr std::string_view kFixedShapeTensor = "arrow.fixed_shape_tensor";
constexpr size_t kMaxColumns = 4096;
constexpr size_t kMaxShapeDims = 64;

absl::Status Invalid(std::string message) { return absl::InvalidArgumentError(std::move(message)); }

uint32_t ReadLe32(const std::byte* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<uint8_t>(p[i])} << (8 * i);
  return v;
}

struct Message {
  const fb::Message* message = nullptr;  // Null at the end-of-stream marker or the body's end.
  std::span<const std::byte> body;
  // The metadata's 8-aligned copy when it did not start 8-aligned in the stream (`message`
  // points into it); shared, so a copied Message keeps it.
  std::shared_ptr<const std::vector<uint64_t>> aligned_metadata;
};

// Reads the message at `pos`, moving `pos` past it (and its body).
absl::StatusOr<Message> ReadMessage(std::span<const std::byte> stream, size_t& pos) {
  if (pos == stream.size()) return Message{};
  if (stream.size() - pos < 4) {
    return Invalid(fmt::format("the Arrow stream is truncated at byte {}", pos));
  }
  uint32_t length = ReadLe32(stream.data() + pos);
  pos += 4;
  if (length == kContinuation) {
    if (stream.size() - pos < 4) {
      return Invalid(fmt::format("the Arrow stream is truncated at byte {}", pos));
    }
    length = ReadLe32(stream.data() + pos);
    pos += 4;
  }
  if (length == 0) return Message{};
  if (length > stream.size() - pos) {
    return Invalid(fmt::format(
        "the Arrow stream's message at byte {} declares {} metadata bytes but {} remain", pos,
        length, stream.size() - pos));
  }
  Message m;
  const auto* meta = reinterpret_cast<const uint8_t*>(stream.data() + pos);
  // The flatbuffer is read in place, and its 8-byte fields must be 8-aligned in memory. The format
  // pads metadata to 8 bytes, but a body need not start 8-aligned (an HTTP body after a binary
  // header of another length; the pre-0.15 stream format without the continuation marker): then
  // the metadata (small: the schema or one batch's layout) is copied to aligned memory first.
  if (reinterpret_cast<uintptr_t>(meta) % 8 != 0) {
    auto copy = std::make_shared<std::vector<uint64_t>>((length + 7) / 8);
    std::memcpy(copy->data(), meta, length);
    meta = reinterpret_cast<const uint8_t*>(copy->data());
    m.aligned_metadata = std::move(copy);
  }
  flatbuffers::Verifier verifier(meta, length, /*max_depth=*/64, /*max_tables=*/100000);
  if (!fb::VerifyMessageBuffer(verifier)) {
    return Invalid(
        fmt::format("the Arrow stream's message at byte {} is not a valid Arrow "
                    "Message flatbuffer",
                    pos));
  }
  m.message = fb::GetMessage(meta);
  if (!m.message->header()) {
    return Invalid(fmt::format("the Arrow stream's message at byte {} has no header", pos));
  }
  pos += length;
  const int64_t body_length = m.message->bodyLength();
  if (body_length < 0 || static_cast<uint64_t>(body_length) > stream.size() - pos) {
    return Invalid(fmt::format("the Arrow stream's message body declares {} bytes but {} remain",
                               body_length, stream.size() - pos));
  }
  m.body = stream.subspan(pos, static_cast<size_t>(body_length));
  pos += static_cast<size_t>(body_length);
  return m;
}

// One column as the schema describes it.
struct Column {
  std::string name;
  DataType datatype = DataType::kInvalid;
  bool list = false;  // FixedSizeList<T>; otherwise Binary/Utf8 (one BYTES per row).
  int64_t list_size = 1;
  Shape shape;  // Per row (list columns).
  enum class Values { kFixed, kBool, kBinary } values = Values::kFixed;
};

std::string ColumnName(const fb::Field* field) {
  return field->name() ? field->name()->str() : std::string();
}

// The datatype of a list's child type; nullopt when it has none.
std::optional<std::pair<DataType, Column::Values>> ChildDataType(const fb::Field* child) {
  switch (child->type_type()) {
    case fb::Type::Bool:
      return std::pair{DataType::kBool, Column::Values::kBool};
    case fb::Type::Binary:
    case fb::Type::Utf8:
      return std::pair{DataType::kBytes, Column::Values::kBinary};
    case fb::Type::Int: {
      const fb::Int* t = child->type_as_Int();
      const bool s = t->is_signed();
      switch (t->bitWidth()) {
        case 8:
          return std::pair{s ? DataType::kInt8 : DataType::kUint8, Column::Values::kFixed};
        case 16:
          return std::pair{s ? DataType::kInt16 : DataType::kUint16, Column::Values::kFixed};
        case 32:
          return std::pair{s ? DataType::kInt32 : DataType::kUint32, Column::Values::kFixed};
        case 64:
          return std::pair{s ? DataType::kInt64 : DataType::kUint64, Column::Values::kFixed};
        default:
          return std::nullopt;
      }
    }
    case fb::Type::FloatingPoint:
      switch (child->type_as_FloatingPoint()->precision()) {
        case fb::Precision::HALF:
          return std::pair{DataType::kFp16, Column::Values::kFixed};
        case fb::Precision::SINGLE:
          return std::pair{DataType::kFp32, Column::Values::kFixed};
        case fb::Precision::DOUBLE:
          return std::pair{DataType::kFp64, Column::Values::kFixed};
      }
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

std::string_view TypeName(fb::Type t) {
  const char* name = fb::EnumNameType(t);
  return name && *name ? name : "unknown";
}

// The shape of the arrow.fixed_shape_tensor metadata JSON.
absl::StatusOr<Shape> ParseShapeMetadata(std::string_view json, const std::string& column) {
  rapidjson::Document doc;
  const std::string what =
      fmt::format("the {} of column {}", kExtensionMetadata, QuoteClientText(column));
  if (absl::Status s = ParseJsonDocument(json, what, doc); !s.ok()) return s;
  if (!doc.IsObject() || !doc.HasMember("shape") || !doc["shape"].IsArray()) {
    return Invalid(fmt::format("{} has no \"shape\" array", what));
  }
  if (doc.HasMember("permutation")) {
    const auto& p = doc["permutation"];
    for (rapidjson::SizeType i = 0; p.IsArray() && i < p.Size(); ++i) {
      if (!p[i].IsInt64() || p[i].GetInt64() != static_cast<int64_t>(i)) {
        return Invalid(fmt::format("{} has a permutation; only the identity is supported", what));
      }
    }
  }
  Shape shape;
  for (const auto& d : doc["shape"].GetArray()) {
    if (!d.IsInt64() || d.GetInt64() < 0 || shape.size() == kMaxShapeDims) {
      return Invalid(
          fmt::format("{} has a \"shape\" that is not a list of at most {} "
                      "non-negative integers",
                      what, kMaxShapeDims));
    }
    shape.push_back(d.GetInt64());
  }
  return shape;
}

absl::StatusOr<Column> DescribeField(const fb::Field* field) {
  Column c;
  c.name = ColumnName(field);
  const std::string quoted = QuoteClientText(c.name);
  if (field->dictionary()) {
    return Invalid(
        fmt::format("column {} is dictionary-encoded; Arrow dictionaries are not "
                    "supported (send the tensor's values)",
                    quoted));
  }
  const fb::Type type = field->type_type();
  if (!field->type()) return Invalid(fmt::format("column {} has no Arrow type", quoted));
  if (type == fb::Type::Binary || type == fb::Type::Utf8) {
    c.datatype = DataType::kBytes;
    c.values = Column::Values::kBinary;
    return c;
  }
  if (type != fb::Type::FixedSizeList) {
    return Invalid(fmt::format(
        "column {} has Arrow type {}; a tensor column is a FixedSizeList "
        "(arrow.fixed_shape_tensor) of Bool, Int, FloatingPoint or Binary values, or a Binary "
        "column for BYTES",
        quoted, TypeName(type)));
  }
  c.list = true;
  c.list_size = field->type_as_FixedSizeList()->listSize();
  if (c.list_size < 0) return Invalid(fmt::format("column {} has a negative list size", quoted));
  if (!field->children() || field->children()->size() != 1) {
    return Invalid(fmt::format("column {}: a FixedSizeList must have one child field", quoted));
  }
  const fb::Field* child = field->children()->Get(0);
  if (child->dictionary()) {
    return Invalid(
        fmt::format("column {} has dictionary-encoded values; Arrow dictionaries are "
                    "not supported",
                    quoted));
  }
  auto child_type = child->type() ? ChildDataType(child) : std::nullopt;
  if (!child_type) {
    return Invalid(
        fmt::format("column {} holds values of Arrow type {}, which has no KServe "
                    "datatype (Bool, Int 8..64, FloatingPoint and Binary do)",
                    quoted, TypeName(child->type_type())));
  }
  c.datatype = child_type->first;
  c.values = child_type->second;
  std::optional<std::string_view> extension, metadata;
  if (field->custom_metadata()) {
    for (const fb::KeyValue* kv : *field->custom_metadata()) {
      if (!kv->key() || !kv->value()) continue;
      if (kv->key()->string_view() == kExtensionName) extension = kv->value()->string_view();
      if (kv->key()->string_view() == kExtensionMetadata) metadata = kv->value()->string_view();
    }
  }
  if (extension && *extension != kFixedShapeTensor) {
    return Invalid(fmt::format("column {} has the extension type {}; only {} is supported", quoted,
                               QuoteClientText(*extension), kFixedShapeTensor));
  }
  if (!extension) {
    c.shape = {c.list_size};
    return c;
  }
  if (!metadata) {
    return Invalid(
        fmt::format("column {} is {} without {}", quoted, kFixedShapeTensor, kExtensionMetadata));
  }
  auto shape = ParseShapeMetadata(*metadata, c.name);
  if (!shape.ok()) return shape.status();
  const std::optional<int64_t> count = ElementCount(*shape);
  if (!count || *count != c.list_size) {
    return Invalid(fmt::format(
        "column {}: its fixed-size list has {} values per row but its shape metadata {} holds {}",
        quoted, c.list_size, ShapeToString(*shape),
        count ? std::to_string(*count) : std::string("too many")));
  }
  c.shape = *std::move(shape);
  return c;
}

// Walks a record batch's nodes and buffers in order.
class BatchReader {
 public:
  BatchReader(const fb::RecordBatch* batch, std::span<const std::byte> body,
              std::shared_ptr<const void> owner)
      : batch_(batch), body_(body), owner_(std::move(owner)) {}

  absl::StatusOr<const fb::FieldNode*> Node(const std::string& column) {
    if (!batch_->nodes() || node_ >= batch_->nodes()->size()) {
      return Invalid(
          fmt::format("the record batch has no field node for column {}", QuoteClientText(column)));
    }
    const fb::FieldNode* n = batch_->nodes()->Get(node_++);
    if (n->null_count() != 0) {
      return Invalid(
          fmt::format("column {} has nulls; tensors cannot hold nulls", QuoteClientText(column)));
    }
    if (n->length() < 0) return Invalid("the record batch has a negative field length");
    return n;
  }

  // The next buffer; at least `min_size` bytes.
  absl::StatusOr<std::span<const std::byte>> Buffer(const std::string& column, size_t min_size) {
    if (!batch_->buffers() || buffer_ >= batch_->buffers()->size()) {
      return Invalid(fmt::format("the record batch has too few buffers for column {}",
                                 QuoteClientText(column)));
    }
    const fb::Buffer* b = batch_->buffers()->Get(buffer_++);
    const int64_t offset = b->offset(), length = b->length();
    if (offset < 0 || length < 0 || static_cast<uint64_t>(offset) > body_.size() ||
        static_cast<uint64_t>(length) > body_.size() - static_cast<size_t>(offset)) {
      return Invalid(fmt::format("a buffer of column {} lies outside the message body",
                                 QuoteClientText(column)));
    }
    if (static_cast<size_t>(length) < min_size) {
      return Invalid(fmt::format("column {} needs {} bytes of values but its buffer has {}",
                                 QuoteClientText(column), min_size, length));
    }
    return body_.subspan(static_cast<size_t>(offset), static_cast<size_t>(length));
  }

  // The values of `count` elements of `column` into `in` (data, byte_size, owner).
  absl::Status Values(const Column& column, size_t count, InferInput& in) {
    if (auto validity = Buffer(column.name, 0); !validity.ok()) return validity.status();
    const std::string& name = column.name;
    switch (column.values) {
      case Column::Values::kFixed: {
        const size_t item = DataTypeByteSize(column.datatype);
        size_t bytes = 0;
        if (__builtin_mul_overflow(count, item, &bytes)) return Invalid("the column is too large");
        auto values = Buffer(name, bytes);
        if (!values.ok()) return values.status();
        if (reinterpret_cast<uintptr_t>(values->data()) % item == 0) {
          in.data = values->data();  // Zero copy: a view into the request body.
          in.byte_size = bytes;
          in.owner = owner_;
        } else {
          auto copy =
              std::make_shared<std::vector<std::byte>>(values->begin(), values->begin() + bytes);
          in.data = copy->data();
          in.byte_size = bytes;
          in.owner = std::move(copy);
        }
        return absl::OkStatus();
      }
      case Column::Values::kBool: {
        auto bits = Buffer(name, (count + 7) / 8);
        if (!bits.ok()) return bits.status();
        auto out = std::make_shared<std::vector<std::byte>>(count);
        for (size_t i = 0; i < count; ++i) {
          (*out)[i] = std::byte{
              static_cast<uint8_t>((static_cast<uint8_t>((*bits)[i / 8]) >> (i % 8)) & 1)};
        }
        in.data = out->data();
        in.byte_size = count;
        in.owner = std::move(out);
        return absl::OkStatus();
      }
      case Column::Values::kBinary: {
        if (count > body_.size()) return Invalid("the column has more values than bytes");
        auto offsets = Buffer(name, (count + 1) * 4);
        if (!offsets.ok()) return offsets.status();
        auto data = Buffer(name, 0);
        if (!data.ok()) return data.status();
        auto out = std::make_shared<std::string>();
        out->reserve(data->size() + 4 * count);
        for (size_t i = 0; i < count; ++i) {
          const int32_t begin = static_cast<int32_t>(ReadLe32(offsets->data() + 4 * i));
          const int32_t end = static_cast<int32_t>(ReadLe32(offsets->data() + 4 * i + 4));
          if (begin < 0 || end < begin || static_cast<size_t>(end) > data->size()) {
            return Invalid(
                fmt::format("column {} has binary offsets out of order or past its "
                            "data",
                            QuoteClientText(name)));
          }
          AppendBytesElement(*out,
                             std::string_view(reinterpret_cast<const char*>(data->data()) + begin,
                                              static_cast<size_t>(end - begin)));
        }
        in.data = reinterpret_cast<const std::byte*>(out->data());
        in.byte_size = out->size();
        in.owner = std::move(out);
        return absl::OkStatus();
      }
    }
    return absl::OkStatus();
  }

 private:
  const fb::RecordBatch* batch_;
  std::span<const std::byte> body_;
  std::shared_ptr<const void> owner_;
  size_t node_ = 0;
  size_t buffer_ = 0;
};

}  // namespace

absl::StatusOr<std::vector<InferInput>> DecodeArrowStream(std::span<const std::byte> body,
                                                          std::shared_ptr<const void> owner,
                                                          bool batched) {
  size_t pos = 0;
  auto first = ReadMessage(body, pos);
  if (!first.ok()) return first.status();
  if (!first->message || first->message->header_type() != fb::MessageHeader::Schema) {
    return Invalid("the Arrow stream does not start with a Schema message");
  }
  const fb::Schema* schema = first->message->header_as_Schema();
  if (schema->endianness() != fb::Endianness::Little) {
    return Invalid("the Arrow stream is big-endian; only little-endian streams are supported");
  }
  std::vector<Column> columns;
  if (schema->fields()) {
    if (schema->fields()->size() > kMaxColumns) {
      return Invalid(fmt::format("the Arrow schema has more than {} columns", kMaxColumns));
    }
    for (const fb::Field* field : *schema->fields()) {
      auto column = DescribeField(field);
      if (!column.ok()) return column.status();
      columns.push_back(*std::move(column));
    }
  }
  std::optional<Message> batch;
  size_t batches = 0;
  while (true) {
    auto m = ReadMessage(body, pos);
    if (!m.ok()) return m.status();
    if (!m->message) break;
    switch (m->message->header_type()) {
      case fb::MessageHeader::RecordBatch:
        if (++batches == 1) batch = *m;
        break;
      case fb::MessageHeader::DictionaryBatch:
        return Invalid("the Arrow stream has a dictionary batch; dictionaries are not supported");
      default:
        return Invalid(
            "the Arrow stream has a message that is not a record batch after its "
            "schema");
    }
  }
  if (batches == 0) return Invalid("the Arrow stream has no record batch; send one");
  if (batches > 1) {
    return Invalid(fmt::format(
        "the Arrow stream has {} record batches; an inference request is exactly one", batches));
  }
  const fb::RecordBatch* rb = batch->message->header_as_RecordBatch();
  if (rb->compression()) {
    return Invalid("the Arrow record batch is compressed; send it uncompressed");
  }
  // The verifier checks every table field's alignment (relative to the metadata, which
  // ReadMessage requires to be 8-aligned), but not that the elements of a vector of structs are:
  // FieldNode and Buffer hold int64s, read in place, so their vectors must start 8-aligned.
  auto aligned = [](const auto* vector) {
    return vector == nullptr || reinterpret_cast<uintptr_t>(vector->Data()) % 8 == 0;
  };
  if (!aligned(rb->nodes()) || !aligned(rb->buffers())) {
    return Invalid("the Arrow record batch's field nodes or buffers are not aligned to 8 bytes");
  }
  const int64_t rows = rb->length();
  if (rows < 0) return Invalid("the Arrow record batch has a negative length");
  BatchReader reader(rb, batch->body, std::move(owner));
  std::vector<InferInput> inputs;
  for (const Column& c : columns) {
    InferInput in;
    in.name = c.name;
    in.datatype = c.datatype;
    auto node = reader.Node(c.name);
    if (!node.ok()) return node.status();
    if ((*node)->length() != rows) {
      return Invalid(fmt::format("column {} has {} rows in a batch of {}", QuoteClientText(c.name),
                                 (*node)->length(), rows));
    }
    size_t count = static_cast<size_t>(rows);
    if (c.list) {
      // The list's validity.
      if (auto validity = reader.Buffer(c.name, 0); !validity.ok()) return validity.status();
      auto child = reader.Node(c.name);
      if (!child.ok()) return child.status();
      int64_t values = 0;
      if (__builtin_mul_overflow(rows, c.list_size, &values) || (*child)->length() < values) {
        return Invalid(fmt::format("column {} has {} values for {} rows of {}",
                                   QuoteClientText(c.name), (*child)->length(), rows, c.list_size));
      }
      count = static_cast<size_t>(values);
      if (batched) {
        in.shape.push_back(rows);
      } else if (rows != 1) {
        return Invalid(
            fmt::format("column {} has {} rows; the model is not batched, so a "
                        "tensor column has one row",
                        QuoteClientText(c.name), rows));
      }
      in.shape.insert(in.shape.end(), c.shape.begin(), c.shape.end());
    } else {
      in.shape = batched ? Shape{rows, 1} : Shape{rows};
    }
    if (absl::Status s = reader.Values(c, count, in); !s.ok()) return s;
    inputs.push_back(std::move(in));
  }
  return inputs;
}

namespace {

constexpr std::byte kZeros[8] = {};
constexpr uint8_t kEndOfStream[8] = {0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0};

// A framed message: continuation, padded length, the flatbuffer, padding.
void AppendMessage(std::string& out, flatbuffers::FlatBufferBuilder& builder) {
  const size_t size = builder.GetSize();
  const size_t padded = (size + 7) / 8 * 8;
  const uint32_t words[2] = {kContinuation, static_cast<uint32_t>(padded)};
  out.append(reinterpret_cast<const char*>(words), 8);
  out.append(reinterpret_cast<const char*>(builder.GetBufferPointer()), size);
  out.append(padded - size, '\0');
}

flatbuffers::Offset<fb::Field> ValueField(flatbuffers::FlatBufferBuilder& b, DataType type) {
  fb::Type t = fb::Type::NONE;
  flatbuffers::Offset<void> offset;
  auto int_type = [&](int bits, bool is_signed) {
    t = fb::Type::Int;
    offset = fb::CreateInt(b, bits, is_signed).Union();
  };
  auto float_type = [&](fb::Precision p) {
    t = fb::Type::FloatingPoint;
    offset = fb::CreateFloatingPoint(b, p).Union();
  };
  switch (type) {
    case DataType::kBool:
      t = fb::Type::Bool;
      offset = fb::CreateBool(b).Union();
      break;
    case DataType::kUint8:
      int_type(8, false);
      break;
    case DataType::kUint16:
      int_type(16, false);
      break;
    case DataType::kUint32:
      int_type(32, false);
      break;
    case DataType::kUint64:
      int_type(64, false);
      break;
    case DataType::kInt8:
      int_type(8, true);
      break;
    case DataType::kInt16:
      int_type(16, true);
      break;
    case DataType::kInt32:
      int_type(32, true);
      break;
    case DataType::kInt64:
      int_type(64, true);
      break;
    case DataType::kFp16:
      float_type(fb::Precision::HALF);
      break;
    case DataType::kFp32:
      float_type(fb::Precision::SINGLE);
      break;
    case DataType::kFp64:
      float_type(fb::Precision::DOUBLE);
      break;
    case DataType::kBytes:
      t = fb::Type::Binary;
      offset = fb::CreateBinary(b).Union();
      break;
    default:
      break;
  }
  return fb::CreateField(b, b.CreateString("item"), false, t, offset);
}

}  // namespace

absl::StatusOr<EncodedArrowStream> EncodeArrowStream(std::span<const InferOutput> outputs,
                                                     bool batched) {
  EncodedArrowStream out;
  auto storage = std::make_shared<std::vector<std::vector<std::byte>>>();
  storage->reserve(2 * outputs.size());
  struct Plan {
    int64_t rows = 1;
    int64_t list_size = 0;
    Shape row_shape;
  };
  std::vector<Plan> plans;
  std::vector<fb::FieldNode> nodes;
  std::vector<fb::Buffer> buffers;
  size_t body_size = 0;
  auto add_buffer = [&](std::span<const std::byte> bytes) {
    buffers.emplace_back(static_cast<int64_t>(body_size), static_cast<int64_t>(bytes.size()));
    if (!bytes.empty()) out.body.push_back(bytes);
    body_size += bytes.size();
    if (const size_t pad = (8 - body_size % 8) % 8; pad > 0) {
      out.body.push_back({kZeros, pad});
      body_size += pad;
    }
  };
  std::optional<int64_t> batch_rows;
  for (const InferOutput& o : outputs) {
    if (o.datatype != DataType::kBytes && DataTypeByteSize(o.datatype) == 0) {
      return Invalid(fmt::format("output {} is {}, which has no Arrow type; ask for another format",
                                 QuoteClientText(o.name), DataTypeName(o.datatype)));
    }
    if (o.datatype == DataType::kBf16) {
      return Invalid(
          fmt::format("output {} is BF16, which has no Arrow type; ask for another "
                      "format",
                      QuoteClientText(o.name)));
    }
    Plan p;
    if (batched && !o.shape.empty()) {
      p.rows = o.shape[0];
      p.row_shape.assign(o.shape.begin() + 1, o.shape.end());
    } else {
      p.row_shape = o.shape;
    }
    if (batch_rows && *batch_rows != p.rows) {
      return absl::InternalError("the outputs have different batch sizes");
    }
    batch_rows = p.rows;
    p.list_size = ElementCount(p.row_shape).value_or(0);
    const int64_t count = p.rows * p.list_size;
    nodes.emplace_back(p.rows, 0);
    add_buffer({});  // The list's validity: none (no nulls).
    nodes.emplace_back(count, 0);
    add_buffer({});  // The values' validity.
    if (o.datatype == DataType::kBool) {
      auto& bits = storage->emplace_back((static_cast<size_t>(count) + 7) / 8);
      for (int64_t i = 0; i < count && static_cast<size_t>(i) < o.byte_size; ++i) {
        if (o.data[i] != std::byte{0})
          bits[i / 8] |= std::byte{static_cast<uint8_t>(1u << (i % 8))};
      }
      add_buffer(bits);
    } else if (o.datatype == DataType::kBytes) {
      auto elements = ParseBytesTensor({o.data, o.byte_size}, count);
      if (!elements.ok()) return elements.status();
      auto& offsets = storage->emplace_back((elements->size() + 1) * 4);
      auto& data = storage->emplace_back();
      uint32_t at = 0;
      for (size_t i = 0; i < elements->size(); ++i) {
        std::memcpy(offsets.data() + 4 * i, &at, 4);
        const auto* e = reinterpret_cast<const std::byte*>((*elements)[i].data());
        data.insert(data.end(), e, e + (*elements)[i].size());
        at += static_cast<uint32_t>((*elements)[i].size());
      }
      std::memcpy(offsets.data() + 4 * elements->size(), &at, 4);
      add_buffer(offsets);
      add_buffer(data);
    } else {
      add_buffer({o.data, o.byte_size});  // Zero copy: the output's own buffer.
    }
    plans.push_back(std::move(p));
  }
  // Schema message.
  {
    flatbuffers::FlatBufferBuilder b;
    std::vector<flatbuffers::Offset<fb::Field>> fields;
    for (size_t i = 0; i < outputs.size(); ++i) {
      const Plan& p = plans[i];
      std::string shape_json = "{\"shape\":[";
      for (size_t d = 0; d < p.row_shape.size(); ++d) {
        shape_json += (d ? "," : "") + std::to_string(p.row_shape[d]);
      }
      shape_json += "]}";
      std::vector<flatbuffers::Offset<fb::KeyValue>> metadata = {
          fb::CreateKeyValue(b, b.CreateString(kExtensionName.data(), kExtensionName.size()),
                             b.CreateString(kFixedShapeTensor.data(), kFixedShapeTensor.size())),
          fb::CreateKeyValue(b,
                             b.CreateString(kExtensionMetadata.data(), kExtensionMetadata.size()),
                             b.CreateString(shape_json))};
      std::vector<flatbuffers::Offset<fb::Field>> children = {ValueField(b, outputs[i].datatype)};
      fields.push_back(
          fb::CreateField(b, b.CreateString(outputs[i].name), false, fb::Type::FixedSizeList,
                          fb::CreateFixedSizeList(b, static_cast<int32_t>(p.list_size)).Union(), 0,
                          b.CreateVector(children), b.CreateVector(metadata)));
    }
    auto schema = fb::CreateSchema(b, fb::Endianness::Little, b.CreateVector(fields));
    b.Finish(fb::CreateMessage(b, fb::MetadataVersion::V5, fb::MessageHeader::Schema,
                               schema.Union(), 0));
    AppendMessage(out.head, b);
  }
  // RecordBatch message (its body follows the head).
  {
    flatbuffers::FlatBufferBuilder b;
    auto rb = fb::CreateRecordBatch(b, batch_rows.value_or(1), b.CreateVectorOfStructs(nodes),
                                    b.CreateVectorOfStructs(buffers));
    b.Finish(fb::CreateMessage(b, fb::MetadataVersion::V5, fb::MessageHeader::RecordBatch,
                               rb.Union(), static_cast<int64_t>(body_size)));
    AppendMessage(out.head, b);
  }
  out.body.push_back({reinterpret_cast<const std::byte*>(kEndOfStream), 8});
  out.storage = std::move(storage);
  return out;
}

}  // namespace inferd::codec
