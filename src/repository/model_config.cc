// SPDX-License-Identifier: Apache-2.0
#include "repository/model_config.h"

#include <fstream>
#include <set>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/reflection.h"
#include "google/protobuf/text_format.h"
#include "repository/onnx_autocomplete.h"

namespace inferd {
namespace {

// absl here is built with its own string_view; std::string_view does not convert implicitly.
absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

constexpr size_t kMaxConfigBytes = 4 << 20;

// Fields inferd acts on, per message. Any other field that is set is reported as unsupported.
// Supported message fields are accepted whole (dynamic_batching, version_policy, parameters),
// except input, output and instance_group, whose own fields are checked (RecurseInto).
const absl::flat_hash_set<std::string>& SupportedFields() {
  static const auto* const fields = new absl::flat_hash_set<std::string>{
      "inference.ModelConfig.name",
      "inference.ModelConfig.platform",
      "inference.ModelConfig.backend",
      "inference.ModelConfig.version_policy",
      "inference.ModelConfig.max_batch_size",
      "inference.ModelConfig.input",
      "inference.ModelConfig.output",
      "inference.ModelConfig.instance_group",
      "inference.ModelConfig.default_model_filename",
      "inference.ModelConfig.dynamic_batching",
      "inference.ModelConfig.parameters",
      "inference.ModelInput.name",
      "inference.ModelInput.data_type",
      "inference.ModelInput.dims",
      "inference.ModelInput.reshape",
      "inference.ModelOutput.name",
      "inference.ModelOutput.data_type",
      "inference.ModelOutput.dims",
      "inference.ModelOutput.reshape",
      "inference.ModelOutput.label_filename",
      "inference.ModelInstanceGroup.name",
      "inference.ModelInstanceGroup.count",
      "inference.ModelInstanceGroup.kind",
      "inference.ModelInstanceGroup.gpus",
  };
  return *fields;
}

// Sub-messages whose own fields are checked one by one.
bool RecurseInto(const FieldDescriptor* field) {
  if (field->type() != FieldDescriptor::TYPE_MESSAGE) return false;
  const std::string& type = field->message_type()->full_name();
  return type == "inference.ModelInput" || type == "inference.ModelOutput" ||
         type == "inference.ModelInstanceGroup";
}

void CollectUnsupported(const Message& message, const std::string& prefix,
                        std::set<std::string>& paths) {
  std::vector<const FieldDescriptor*> fields;
  message.GetReflection()->ListFields(message, &fields);
  const auto& supported = SupportedFields();
  for (const FieldDescriptor* field : fields) {
    std::string path = prefix.empty() ? field->name() : absl::StrCat(prefix, ".", field->name());
    if (!supported.contains(field->full_name())) {
      paths.insert(std::move(path));
      continue;
    }
    if (!RecurseInto(field)) continue;
    const auto* reflection = message.GetReflection();
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
        CollectUnsupported(reflection->GetRepeatedMessage(message, field, i), path, paths);
      }
    } else {
      CollectUnsupported(reflection->GetMessage(message, field), path, paths);
    }
  }
}

class SilentErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int, google::protobuf::io::ColumnNumber, const std::string&) override {}
};

// The dotted path of the field whose value the token at 0-based (line, column) belongs to, e.g.
// "max_batch_size" or "input.dims"; empty when it is not inside a field's value. Re-tokenizes the
// text up to that point, tracking the fields of the messages it is nested in.
std::string FieldPathAt(std::string_view text, int line, int column) {
  google::protobuf::io::ArrayInputStream stream(text.data(), static_cast<int>(text.size()));
  SilentErrorCollector silent;
  google::protobuf::io::Tokenizer tokenizer(&stream, &silent);
  tokenizer.set_comment_style(google::protobuf::io::Tokenizer::SH_COMMENT_STYLE);
  using Token = google::protobuf::io::Tokenizer::Token;
  std::vector<std::string> enclosing;  // Message fields the position is nested in.
  std::string field;                   // The field whose value follows.
  std::string identifier;              // The last identifier, when it was the previous token.
  while (tokenizer.Next()) {
    const Token& t = tokenizer.current();
    if (t.line > line || (t.line == line && t.column >= column)) break;
    if (t.type == google::protobuf::io::Tokenizer::TYPE_IDENTIFIER) {
      identifier = t.text;
      continue;
    }
    if (t.type == google::protobuf::io::Tokenizer::TYPE_SYMBOL) {
      if (t.text == ":" || t.text == "[") {
        if (!identifier.empty()) field = identifier;
      } else if (t.text == "{" || t.text == "<") {
        enclosing.push_back(identifier.empty() ? field : identifier);
        field.clear();
      } else if (t.text == "}" || t.text == ">") {
        if (!enclosing.empty()) enclosing.pop_back();
        field.clear();
      }
    }
    identifier.clear();
  }
  if (field.empty()) return "";
  std::string path;
  for (const std::string& name : enclosing) absl::StrAppend(&path, name, ".");
  return path + field;
}

// Keeps the first parse error as "config.pbtxt:<line>:<column>: <message>", 1-based, naming the
// field whose value is wrong ("... in field 'max_batch_size': Expected integer, ...").
class ConfigErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  explicit ConfigErrorCollector(std::string_view text) : text_(text) {}

  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (!first_.empty()) return;
    // For an unknown field the parser points past the name; point at the name instead.
    static constexpr std::string_view kNoField = "has no field named \"";
    if (size_t at = message.find(kNoField); at != std::string::npos) {
      const size_t start = at + kNoField.size();
      const size_t end = message.find('"', start);
      if (end != std::string::npos) {
        column = FieldColumn(line, column, std::string_view(message).substr(start, end - start));
      }
      first_ = absl::StrCat("config.pbtxt:", line + 1, ":", column + 1, ": ", message);
      return;
    }
    const std::string field = FieldPathAt(text_, line, column);
    first_ = absl::StrCat("config.pbtxt:", line + 1, ":", column + 1, ": ",
                          field.empty() ? "" : absl::StrCat("in field '", field, "': "), message);
  }
  void AddWarning(int, google::protobuf::io::ColumnNumber, const std::string&) override {}
  const std::string& first() const { return first_; }

 private:
  // Column of the last occurrence of `field` on 0-based `line` that starts before `column`.
  int FieldColumn(int line, int column, std::string_view field) const {
    size_t begin = 0;
    for (int i = 0; i < line && begin != std::string_view::npos; ++i) {
      begin = text_.find('\n', begin);
      if (begin != std::string_view::npos) ++begin;
    }
    if (begin == std::string_view::npos || field.empty()) return column;
    const std::string_view row = text_.substr(begin, text_.find('\n', begin) - begin);
    const size_t found = row.rfind(field, static_cast<size_t>(column));
    return found == std::string_view::npos ? column : static_cast<int>(found);
  }

  std::string_view text_;
  std::string first_;
};

bool IsValidDataType(int value) {
  return value != inference::TYPE_INVALID && inference::DataType_IsValid(value);
}

// dims: each -1 or > 0. `what` is "input 'x'" and `field` "dims" or "reshape".
absl::Status ValidateDims(const std::string& prefix, const std::string& what,
                          const google::protobuf::RepeatedField<int64_t>& dims,
                          std::string_view field) {
  for (int64_t d : dims) {
    if (d != -1 && d <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(prefix, what, ": ", Sv(field), " [",
                                                     absl::StrJoin(dims, ","), "] has ", d,
                                                     "; each dimension must be -1 or > 0"));
    }
  }
  return absl::OkStatus();
}

// Element count when every dimension is fixed; -1 when one is variable.
int64_t FixedElementCount(const google::protobuf::RepeatedField<int64_t>& dims) {
  int64_t count = 1;
  for (int64_t d : dims) {
    if (d < 0) return -1;
    if (d != 0 && count > INT64_MAX / d) return -1;
    count *= d;
  }
  return count;
}

// `may_be_empty`: an ONNX Runtime config, whose empty list the lifecycle completes from the
// model file (onnx_autocomplete.h) and validates again.
template <typename Tensor>
absl::Status ValidateTensors(const std::string& prefix, std::string_view kind,
                             const google::protobuf::RepeatedPtrField<Tensor>& tensors,
                             bool may_be_empty = false) {
  if (tensors.empty() && may_be_empty) return absl::OkStatus();
  if (tensors.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, "config has no '", Sv(kind), "'; at least one is required"));
  }
  std::set<std::string> names;
  for (const Tensor& tensor : tensors) {
    if (tensor.name().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(prefix, Sv(kind), " has an empty 'name'"));
    }
    const std::string what = absl::StrCat(Sv(kind), " '", tensor.name(), "'");
    if (!names.insert(tensor.name()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(prefix, "duplicate ", what, "; tensor names must be unique"));
    }
    if (!IsValidDataType(tensor.data_type())) {
      return absl::InvalidArgumentError(absl::StrCat(prefix, what,
                                                     ": data_type is missing or invalid (",
                                                     static_cast<int>(tensor.data_type()), ")"));
    }
    if (tensor.dims().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(prefix, what, ": dims is empty; use reshape { shape: [] } for a scalar"));
    }
    if (auto s = ValidateDims(prefix, what, tensor.dims(), "dims"); !s.ok()) return s;
    if (tensor.has_reshape()) {
      const auto& shape = tensor.reshape().shape();
      if (auto s = ValidateDims(prefix, what, shape, "reshape"); !s.ok()) return s;
      const int64_t dims_count = FixedElementCount(tensor.dims());
      const int64_t reshape_count = FixedElementCount(shape);
      if (dims_count >= 0 && reshape_count >= 0 && dims_count != reshape_count) {
        return absl::InvalidArgumentError(absl::StrCat(
            prefix, what, ": reshape [", absl::StrJoin(shape, ","), "] has ", reshape_count,
            " elements but dims [", absl::StrJoin(tensor.dims(), ","), "] has ", dims_count));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateDynamicBatching(const std::string& prefix,
                                     const inference::ModelConfig& config) {
  const auto& db = config.dynamic_batching();
  for (int32_t size : db.preferred_batch_size()) {
    if (size <= 0 || size > config.max_batch_size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(prefix, "dynamic_batching.preferred_batch_size ", size,
                       " must be between 1 and max_batch_size (", config.max_batch_size(), ")"));
    }
  }
  const uint64_t levels = db.priority_levels();
  if (db.default_priority_level() > levels) {
    return absl::InvalidArgumentError(absl::StrCat(
        prefix, "dynamic_batching.default_priority_level ", db.default_priority_level(),
        " must be between 1 and priority_levels (", levels, ")"));
  }
  if (levels > 0 && db.default_priority_level() == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        prefix, "dynamic_batching.default_priority_level is required when priority_levels is set"));
  }
  for (const auto& [level, policy] : db.priority_queue_policy()) {
    if (level == 0 || level > levels) {
      return absl::InvalidArgumentError(
          absl::StrCat(prefix, "dynamic_batching.priority_queue_policy level ", level,
                       " must be between 1 and priority_levels (", levels, ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ParsedModelConfig> ParseModelConfig(std::string_view text,
                                                   std::string_view model_name) {
  const std::string prefix = absl::StrCat("model '", Sv(model_name), "': ");
  ParsedModelConfig parsed;
  ConfigErrorCollector errors(text);
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(text), &parsed.config)) {
    return absl::InvalidArgumentError(absl::StrCat(
        prefix, errors.first().empty() ? "config.pbtxt does not parse" : errors.first()));
  }
  if (parsed.config.name().empty()) {
    parsed.config.set_name(std::string(model_name));
  } else if (parsed.config.name() != model_name) {
    return absl::InvalidArgumentError(absl::StrCat(prefix, "config name '", parsed.config.name(),
                                                   "' does not match the directory name"));
  }
  std::set<std::string> unsupported;
  CollectUnsupported(parsed.config, "", unsupported);
  for (const std::string& path : unsupported) {
    parsed.warnings.push_back(
        absl::StrCat(prefix, "field '", path, "' is not supported by inferd and is ignored"));
  }
  if (auto status = ValidateModelConfig(parsed.config); !status.ok()) return status;
  return parsed;
}

absl::StatusOr<ParsedModelConfig> ReadModelConfig(const std::string& model_dir,
                                                  std::string_view model_name) {
  const std::string path = model_dir + "/config.pbtxt";
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return absl::NotFoundError(
        absl::StrCat("model '", Sv(model_name), "': no readable config.pbtxt at '", path, "'"));
  }
  std::string text;
  char buffer[8192];
  while (file.read(buffer, sizeof(buffer)) || file.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(file.gcount()));
    if (text.size() > kMaxConfigBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "model '", Sv(model_name), "': config.pbtxt is larger than ", kMaxConfigBytes, " bytes"));
    }
  }
  if (file.bad()) {
    return absl::InternalError(
        absl::StrCat("model '", Sv(model_name), "': reading '", path, "' failed"));
  }
  return ParseModelConfig(text, model_name);
}

absl::Status ValidateModelConfig(const inference::ModelConfig& config) {
  const std::string prefix = absl::StrCat("model '", config.name(), "': ");
  if (config.name().empty()) {
    return absl::InvalidArgumentError("model '': config has no 'name'");
  }
  if (config.backend().empty() && config.platform().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, "config has neither 'backend' nor 'platform'"));
  }
  if (config.max_batch_size() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, "max_batch_size ", config.max_batch_size(), " must be >= 0"));
  }
  const std::string& filename = config.default_model_filename();
  if (filename.find('/') != std::string::npos || filename == "." || filename == "..") {
    return absl::InvalidArgumentError(absl::StrCat(prefix, "default_model_filename '", filename,
                                                   "' must be a file name, not a path"));
  }
  const bool completable = IsOnnxRuntimeConfig(config);
  if (auto s = ValidateTensors(prefix, "input", config.input(), completable); !s.ok()) return s;
  if (auto s = ValidateTensors(prefix, "output", config.output(), completable); !s.ok()) return s;
  for (const auto& group : config.instance_group()) {
    const std::string what = group.name().empty()
                                 ? std::string("instance_group")
                                 : absl::StrCat("instance_group '", group.name(), "'");
    if (group.count() < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(prefix, what, ": count ", group.count(), " must be >= 0"));
    }
    if (!inference::ModelInstanceGroup::Kind_IsValid(group.kind())) {
      return absl::InvalidArgumentError(
          absl::StrCat(prefix, what, ": kind ", static_cast<int>(group.kind()), " is invalid"));
    }
    for (int32_t gpu : group.gpus()) {
      if (gpu < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(prefix, what, ": gpus has ", gpu, "; GPU ids are >= 0"));
      }
    }
  }
  if (config.has_dynamic_batching()) {
    if (auto s = ValidateDynamicBatching(prefix, config); !s.ok()) return s;
  }
  const auto& policy = config.version_policy();
  if (policy.has_latest() && policy.latest().num_versions() == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, "version_policy.latest.num_versions must be > 0"));
  }
  if (policy.has_specific()) {
    if (policy.specific().versions().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(prefix, "version_policy.specific lists no versions"));
    }
    for (int64_t v : policy.specific().versions()) {
      if (v <= 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(prefix, "version_policy.specific has version ", v, "; versions are > 0"));
      }
    }
  }
  return absl::OkStatus();
}

namespace {

template <typename Tensor>
TensorSpec ToTensorSpec(const Tensor& tensor) {
  TensorSpec spec;
  spec.name = tensor.name();
  // inferd::DataType uses the config enum's values.
  spec.datatype = IsValidDataType(tensor.data_type()) ? static_cast<DataType>(tensor.data_type())
                                                      : DataType::kInvalid;
  spec.dims.assign(tensor.dims().begin(), tensor.dims().end());
  if (tensor.has_reshape()) {
    spec.reshape = Shape(tensor.reshape().shape().begin(), tensor.reshape().shape().end());
  }
  return spec;
}

}  // namespace

ModelSpec ModelSpecFromConfig(const inference::ModelConfig& config) {
  ModelSpec spec;
  spec.name = config.name();
  spec.model_filename = config.default_model_filename();
  spec.platform = config.platform();
  spec.backend = config.backend();
  spec.max_batch_size = config.max_batch_size();
  spec.instance_count = InstanceCount(config);
  for (const auto& input : config.input()) spec.inputs.push_back(ToTensorSpec(input));
  for (const auto& output : config.output()) spec.outputs.push_back(ToTensorSpec(output));
  for (const auto& [key, value] : config.parameters()) spec.parameters[key] = value.string_value();
  return spec;
}

int InstanceCount(const inference::ModelConfig& config) {
  if (config.instance_group().empty()) return 1;
  int total = 0;
  for (const auto& group : config.instance_group()) {
    // An absent or zero count means one instance, as in Triton. inferd runs every group on the
    // CPU, so a group's count is not multiplied by its gpus.
    total += group.count() > 0 ? group.count() : 1;
  }
  return total;
}

}  // namespace inferd
