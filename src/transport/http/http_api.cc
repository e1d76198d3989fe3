// SPDX-License-Identifier: Apache-2.0
#include "transport/http/http_api.h"

#include <atomic>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include "codec/json_document.h"
#include "codec/kserve_json.h"
#include "core/client_text.h"
#include "core/exception_boundary.h"
#include "fmt/format.h"
#include "inferd/status.h"
#include "rapidjson/document.h"
#include "transport/http/http_compression.h"
#include "transport/http/http_tensor_formats.h"
#include "transport/http/model_config_json.h"
#include "transport/shm/shm_region_registry.h"

namespace inferd {
namespace {

constexpr std::string_view kJson = "application/json";
constexpr std::string_view kOctetStream = "application/octet-stream";

HttpResponse JsonResponse(std::string json) {
  HttpResponse r;
  r.content_type = std::string(kJson);
  r.json = std::move(json);
  return r;
}

HttpResponse EmptyResponse(int status = 200) {
  HttpResponse r;
  r.status = status;
  return r;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Splits the path (query dropped) into percent-decoded segments; nullopt for a bad escape.
std::optional<std::vector<std::string>> PathSegments(std::string_view target) {
  target = target.substr(0, target.find('?'));
  std::vector<std::string> segments;
  size_t pos = 0;
  while (pos <= target.size()) {
    size_t next = target.find('/', pos);
    if (next == std::string_view::npos) next = target.size();
    std::string_view raw = target.substr(pos, next - pos);
    std::string segment;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '%') {
        if (i + 2 >= raw.size()) return std::nullopt;
        const int hi = HexValue(raw[i + 1]);
        const int lo = HexValue(raw[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        segment.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
      } else {
        segment.push_back(raw[i]);
      }
    }
    if (!(pos == 0 && segment.empty())) segments.push_back(std::move(segment));
    pos = next + 1;
  }
  if (!segments.empty() && segments.back().empty()) segments.pop_back();  // Trailing '/'.
  return segments;
}

absl::StatusOr<int64_t> ParseVersion(std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v <= 0) {
    return absl::InvalidArgumentError(fmt::format(
        "model version {} in the URL is not a positive integer", QuoteClientText(text)));
  }
  return v;
}

absl::StatusOr<int64_t> ParseLength(std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 0) {
    return absl::InvalidArgumentError(fmt::format(
        "Inference-Header-Content-Length {} is not a non-negative integer", QuoteClientText(text)));
  }
  return v;
}

std::string_view BodyText(const HttpRequest& r) {
  return {reinterpret_cast<const char*>(r.body), r.body_size};
}

// An optional JSON object body (the repository endpoints). Empty is an empty object.
absl::Status ParseOptionalObject(const HttpRequest& r, rapidjson::Document& doc) {
  std::string_view text = BodyText(r);
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    doc.SetObject();
    return absl::OkStatus();
  }
  if (absl::Status s = codec::ParseJsonDocument(text, "the request JSON", doc); !s.ok()) return s;
  if (!doc.IsObject()) return absl::InvalidArgumentError("the request JSON must be a JSON object");
  return absl::OkStatus();
}

// Raw binary request (Inference-Header-Content-Length: 0): the body is the data of the model's
// only input, batch 1, and every output comes back binary (protocols.md §2).
absl::StatusOr<InferRequest> RawBinaryRequest(const inference::ModelConfig& config,
                                              const HttpRequest& r) {
  if (config.input_size() != 1) {
    return absl::InvalidArgumentError(fmt::format(
        "a raw binary request (Inference-Header-Content-Length: 0) needs a model with exactly "
        "one input; model {} has {}",
        QuoteClientText(config.name()), config.input_size()));
  }
  const auto& spec = config.input(0);
  const DataType type = DataTypeFromConfigValue(spec.data_type()).value_or(DataType::kInvalid);
  Shape shape(spec.dims().begin(), spec.dims().end());
  if (type == DataType::kBytes) {
    shape.assign(1, 1);
  } else {
    int variable = -1;
    int64_t known = 1;
    for (size_t i = 0; i < shape.size(); ++i) {
      if (shape[i] >= 0) {
        known *= shape[i];
      } else if (variable >= 0) {
        return absl::InvalidArgumentError(fmt::format(
            "a raw binary request cannot infer the shape of input {} of model {}: it has "
            "more than one variable dimension",
            QuoteClientText(spec.name()), QuoteClientText(config.name())));
      } else {
        variable = static_cast<int>(i);
      }
    }
    const size_t element = DataTypeByteSize(type);
    const size_t row = element * static_cast<size_t>(known);
    if (variable >= 0 && row > 0) {
      shape[static_cast<size_t>(variable)] = static_cast<int64_t>(r.body_size / row);
    }
  }
  if (config.max_batch_size() > 0) shape.insert(shape.begin(), 1);
  InferRequest request;
  InferInput in;
  in.name = spec.name();
  in.datatype = type;
  in.shape = std::move(shape);
  in.data = r.body;
  in.byte_size = r.body_size;
  in.owner = r.body_owner;
  request.inputs.push_back(std::move(in));
  request.parameters[std::string(codec::kBinaryDataOutput)] = true;
  return request;
}

struct Route {
  enum Kind {
    kServerMetadata, kLive, kReady, kAllStats, kModelMetadata, kModelReady, kInfer, kConfig,
    kModelStats, kIndex, kLoad, kUnload,
  } kind;
  std::string model;
  int64_t version = 0;
  std::string_view method;  // The one method the endpoint takes.
};

absl::StatusOr<Route> Match(const std::vector<std::string>& s) {
  const size_t n = s.size();
  if (n == 0 || s[0] != "v2") return absl::NotFoundError("");
  if (n == 1) return Route{Route::kServerMetadata, "", 0, "GET"};
  if (s[1] == "health" && n == 3 && s[2] == "live") return Route{Route::kLive, "", 0, "GET"};
  if (s[1] == "health" && n == 3 && s[2] == "ready") return Route{Route::kReady, "", 0, "GET"};
  if (s[1] == "repository") {
    if (n == 3 && s[2] == "index") return Route{Route::kIndex, "", 0, "POST"};
    if (n == 5 && s[2] == "models" && s[4] == "load") return Route{Route::kLoad, s[3], 0, "POST"};
    if (n == 5 && s[2] == "models" && s[4] == "unload") {
      return Route{Route::kUnload, s[3], 0, "POST"};
    }
    return absl::NotFoundError("");
  }
  if (s[1] != "models" || n < 3) return absl::NotFoundError("");
  if (n == 3 && s[2] == "stats") return Route{Route::kAllStats, "", 0, "GET"};
  Route route{Route::kModelMetadata, s[2], 0, "GET"};
  size_t i = 3;
  if (i < n && s[i] == "versions") {
    if (i + 1 >= n) return absl::NotFoundError("");
    auto version = ParseVersion(s[i + 1]);
    if (!version.ok()) return version.status();
    route.version = *version;
    i += 2;
  }
  if (i == n) return route;
  if (i + 1 != n) return absl::NotFoundError("");
  if (s[i] == "ready") {
    route.kind = Route::kModelReady;
  } else if (s[i] == "infer") {
    route.kind = Route::kInfer;
    route.method = "POST";
  } else if (s[i] == "config") {
    route.kind = Route::kConfig;
  } else if (s[i] == "stats") {
    route.kind = Route::kModelStats;
  } else {
    return absl::NotFoundError("");
  }
  return route;
}

}  // namespace

HttpResponse HttpApi::ErrorResponse(int http_status, std::string_view message) {
  HttpResponse r = JsonResponse(codec::EncodeError(message));
  r.status = http_status;
  return r;
}

HttpResponse HttpApi::ErrorResponse(const absl::Status& status) {
  return ErrorResponse(HttpStatusFromStatusCode(status.code()), std::string(status.message()));
}

namespace {

// The response with its body compressed in `coding` (a response without a body stays as it is).
// Inference-Header-Content-Length keeps the uncompressed JSON's length, as Triton sends it.
HttpResponse CompressResponse(HttpResponse r, http_detail::ContentCoding coding) {
  if (r.json.empty() && r.binary.empty()) return r;
  std::vector<std::span<const std::byte>> pieces;
  pieces.push_back(std::as_bytes(std::span(r.json)));
  pieces.insert(pieces.end(), r.binary.begin(), r.binary.end());
  r.json = http_detail::Compress(coding, pieces);
  r.binary.clear();
  r.binary_owner.reset();
  r.content_encoding = std::string(http_detail::CodingName(coding));
  return r;
}

}  // namespace

void HttpApi::Handle(HttpRequest request, HttpResponder respond) const {
  // The exception boundary: whatever throws while handling (here, or in the inference
  // completion on a model's thread) answers 500 for this request, once.
  auto responded = std::make_shared<std::atomic<bool>>(false);
  HttpResponder once = [respond = std::move(respond), responded](HttpResponse r) {
    if (!responded->exchange(true)) respond(std::move(r));
  };
  absl::Status status = CallCatchingExceptions(
      "handling the request", [&] { HandleRequest(std::move(request), once); });
  if (!status.ok() && !responded->load()) once(ErrorResponse(status));
}

void HttpApi::HandleRequest(HttpRequest request, HttpResponder respond) const {
  if (const auto coding = http_detail::ChooseResponseCoding(request.accept_encoding);
      coding != http_detail::ContentCoding::kIdentity) {
    respond = [respond = std::move(respond), coding](HttpResponse r) {
      respond(CompressResponse(std::move(r), coding));
    };
  }
  if (!request.content_encoding.empty()) {
    auto coding = http_detail::ParseContentEncoding(request.content_encoding);
    if (!coding.ok()) {
      respond(ErrorResponse(415, std::string(coding.status().message())));
      return;
    }
    if (*coding != http_detail::ContentCoding::kIdentity) {
      auto plain = http_detail::Decompress(*coding, {request.body, request.body_size},
                                           max_body_bytes_);
      if (!plain.ok()) {
        const bool too_large = plain.status().code() == absl::StatusCode::kResourceExhausted;
        respond(ErrorResponse(too_large ? 413 : 400, std::string(plain.status().message())));
        return;
      }
      // A block placed so that the binary part (after the JSON header) is 64-byte aligned, as
      // the server places uncompressed bodies: backends read inputs as typed arrays.
      // (A malformed length is reported where the infer handler parses it.)
      size_t header = 0;
      if (request.inference_header_length) {
        header = static_cast<size_t>(ParseLength(*request.inference_header_length).value_or(0));
      }
      std::shared_ptr<std::byte[]> block(new std::byte[plain->size() + 64]);
      const auto base = reinterpret_cast<uintptr_t>(block.get());
      std::byte* data = block.get() + (64 - (base + header) % 64) % 64;
      std::memcpy(data, plain->data(), plain->size());
      request.body = data;
      request.body_size = plain->size();
      request.body_owner = std::move(block);
    }
  }
  const auto segments = PathSegments(request.target);
  if (!segments) {
    respond(ErrorResponse(400, fmt::format("malformed percent-escape in URL {}",
                                           QuoteClientText(request.target.substr(0, 200)))));
    return;
  }
  if (segments->size() >= 2 && (*segments)[0] == "v2" && (*segments)[1] == "systemsharedmemory") {
    HandleSystemSharedMemory(request, *segments, std::move(respond));
    return;
  }
  auto route = Match(*segments);
  if (!route.ok()) {
    if (route.status().code() == absl::StatusCode::kNotFound) {
      respond(ErrorResponse(404, fmt::format("no endpoint at {} (see the KServe v2 REST API)",
                                             QuoteClientText(request.target.substr(0, 200)))));
    } else {
      respond(ErrorResponse(route.status()));
    }
    return;
  }
  if (request.method != route->method) {
    HttpResponse r = ErrorResponse(
        405, fmt::format("method {} is not allowed for {}; use {}", request.method,
                         QuoteClientText(request.target.substr(0, 200)), route->method));
    r.allow = std::string(route->method);
    respond(std::move(r));
    return;
  }
  const std::string& model = route->model;
  const int64_t version = route->version;
  switch (route->kind) {
    case Route::kServerMetadata: {
      ServerMetadata metadata = server_->Metadata();
      AddSharedMemoryExtension(shm_registry_, metadata);
      respond(JsonResponse(codec::EncodeServerMetadata(metadata)));
      return;
    }
    case Route::kLive:
      respond(EmptyResponse(server_->IsLive() ? 200 : 400));
      return;
    case Route::kReady:
      respond(EmptyResponse(server_->IsReady() ? 200 : 400));
      return;
    case Route::kModelMetadata: {
      auto metadata = server_->GetModelMetadata(model, version);
      respond(metadata.ok() ? JsonResponse(codec::EncodeModelMetadata(*metadata))
                            : ErrorResponse(metadata.status()));
      return;
    }
    case Route::kModelReady: {
      auto ready = server_->IsModelReady(model, version);
      if (!ready.ok()) {
        respond(ErrorResponse(ready.status()));
      } else if (*ready) {
        respond(EmptyResponse(200));
      } else {
        respond(ErrorResponse(400, fmt::format("model {} is not ready", QuoteClientText(model))));
      }
      return;
    }
    case Route::kConfig: {
      auto config = server_->GetModelConfig(model, version);
      if (!config.ok()) {
        respond(ErrorResponse(config.status()));
        return;
      }
      auto json = ModelConfigToJson(**config);
      respond(json.ok() ? JsonResponse(*std::move(json)) : ErrorResponse(json.status()));
      return;
    }
    case Route::kAllStats:
    case Route::kModelStats: {
      auto stats = server_->Statistics(model, version);
      respond(stats.ok() ? JsonResponse(codec::EncodeModelStatistics(*stats))
                         : ErrorResponse(stats.status()));
      return;
    }
    case Route::kIndex: {
      rapidjson::Document doc;
      if (absl::Status s = ParseOptionalObject(request, doc); !s.ok()) {
        respond(ErrorResponse(s));
        return;
      }
      bool ready_only = false;
      if (auto it = doc.FindMember("ready"); it != doc.MemberEnd()) {
        if (!it->value.IsBool()) {
          respond(ErrorResponse(400, "the repository index request's 'ready' must be a boolean"));
          return;
        }
        ready_only = it->value.GetBool();
      }
      respond(JsonResponse(codec::EncodeRepositoryIndex(server_->RepositoryIndex(ready_only))));
      return;
    }
    case Route::kLoad:
    case Route::kUnload: {
      rapidjson::Document doc;
      if (absl::Status s = ParseOptionalObject(request, doc); !s.ok()) {
        respond(ErrorResponse(s));
        return;
      }
      if (auto p = doc.FindMember("parameters"); p != doc.MemberEnd() && p->value.IsObject()) {
        for (const auto& m : p->value.GetObject()) {
          const std::string_view key(m.name.GetString(), m.name.GetStringLength());
          if (key == "unload_dependents") continue;  // No ensembles: nothing depends on a model.
          respond(ErrorResponse(absl::UnimplementedError(fmt::format(
              "inferd does not support the repository parameter {}; models load from the "
              "repository's files",
              QuoteClientText(key)))));
          return;
        }
      }
      absl::Status s = route->kind == Route::kLoad ? server_->LoadModel(model)
                                                   : server_->UnloadModel(model);
      respond(s.ok() ? EmptyResponse(200) : ErrorResponse(s));
      return;
    }
    case Route::kInfer:
      HandleInfer(std::move(request), model, version, std::move(respond));
      return;
  }
}

namespace {

// The inference completion: the response (or its error) encoded and sent.
void EncodeAndRespond(absl::StatusOr<InferResponse> result, http_detail::BodyFormat format,
                      bool batched, const codec::OutputBinarySelection& selection,
                      const InferRequest* shm_outputs, const HttpResponder& respond) {
  if (!result.ok()) {
    respond(HttpApi::ErrorResponse(result.status()));
    return;
  }
  auto response = std::make_shared<InferResponse>(*std::move(result));
  if (shm_outputs) MarkSharedMemoryOutputs(*shm_outputs, *response);
  if (format != http_detail::BodyFormat::kKserve) {
    auto encoded = format == http_detail::BodyFormat::kNpy
                       ? http_detail::NpyResponse(response)
                       : http_detail::ArrowResponse(response, batched);
    respond(encoded.ok() ? *std::move(encoded) : HttpApi::ErrorResponse(encoded.status()));
    return;
  }
  auto encoded = codec::EncodeInferResponse(*response, selection);
  if (!encoded.ok()) {
    respond(HttpApi::ErrorResponse(encoded.status()));
    return;
  }
  HttpResponse r;
  r.json = std::move(encoded->json);
  if (encoded->binary.empty()) {
    r.content_type = std::string(kJson);
  } else {
    r.content_type = std::string(kOctetStream);
    r.inference_header_length = r.json.size();
    r.binary = std::move(encoded->binary);
    r.binary_owner = std::move(response);
  }
  respond(std::move(r));
}

}  // namespace

void HttpApi::HandleInfer(HttpRequest request, std::string model, int64_t version,
                          HttpResponder respond) const {
  using http_detail::BodyFormat;
  const BodyFormat request_format = http_detail::RequestBodyFormat(request.content_type);
  const std::optional<BodyFormat> response_format =
      http_detail::ResponseBodyFormat(request.accept, request_format);
  if (!response_format) {
    respond(ErrorResponse(406, http_detail::NotAcceptableMessage(request.accept)));
    return;
  }
  // The npy and Arrow formats name inputs and outputs from the model's config.
  std::shared_ptr<const inference::ModelConfig> config;
  if (request_format != BodyFormat::kKserve || *response_format != BodyFormat::kKserve) {
    auto found = server_->GetModelConfig(model, version);
    if (!found.ok()) {
      respond(ErrorResponse(found.status()));
      return;
    }
    config = *std::move(found);
  }
  absl::StatusOr<InferRequest> decoded;
  if (request_format == BodyFormat::kNpy) {
    decoded = http_detail::NpyInferRequest(*config, request);
  } else if (request_format == BodyFormat::kArrow) {
    decoded = http_detail::ArrowInferRequest(*config, request);
  } else {
    size_t header_length = request.body_size;
    if (request.inference_header_length) {
      auto length = ParseLength(*request.inference_header_length);
      if (!length.ok()) {
        respond(ErrorResponse(length.status()));
        return;
      }
      if (static_cast<uint64_t>(*length) > request.body_size) {
        respond(ErrorResponse(
            400, fmt::format("Inference-Header-Content-Length is {} bytes, larger than the "
                             "{}-byte request body",
                             *length, request.body_size)));
        return;
      }
      header_length = static_cast<size_t>(*length);
    }
    if (request.inference_header_length && header_length == 0) {
      auto raw_config = server_->GetModelConfig(model, version);
      if (!raw_config.ok()) {
        respond(ErrorResponse(raw_config.status()));
        return;
      }
      decoded = RawBinaryRequest(**raw_config, request);
    } else {
      const std::string_view json(reinterpret_cast<const char*>(request.body), header_length);
      decoded = codec::DecodeInferRequest(
          json, {request.body + header_length, request.body_size - header_length},
          request.body_owner);
    }
  }
  if (!decoded.ok()) {
    respond(ErrorResponse(decoded.status()));
    return;
  }
  if (*response_format == BodyFormat::kNpy) {
    if (absl::Status s = http_detail::SelectSingleOutput(*config, request.target, *decoded);
        !s.ok()) {
      respond(ErrorResponse(s));
      return;
    }
  }
  decoded->model_name = std::move(model);
  decoded->model_version = version;
  codec::OutputBinarySelection selection = codec::BinarySelectionOf(*decoded);
  // Triton's system shared memory: inputs read from regions, outputs written into them.
  absl::StatusOr<std::shared_ptr<OutputAllocator>> allocator = ResolveSharedMemory(
      shm_registry_, *decoded, output_allocator_);
  if (!allocator.ok()) {
    respond(ErrorResponse(allocator.status()));
    return;
  }
  std::shared_ptr<InferRequest> shm_outputs = SharedMemoryOutputs(*decoded);
  server_->Infer(std::move(*decoded),
                 [respond = std::move(respond), selection = std::move(selection),
                  shm_outputs = std::move(shm_outputs),
                  format = *response_format,
                  batched = config && config->max_batch_size() > 0](
                     absl::StatusOr<InferResponse> result) {
                   absl::Status status = CallCatchingExceptions("encoding the response", [&] {
                     EncodeAndRespond(std::move(result), format, batched, selection,
                                      shm_outputs.get(), respond);
                   });
                   if (!status.ok()) respond(ErrorResponse(status));
                 },
                 *std::move(allocator), InferOptions{.allow_inline = true});
}

}  // namespace inferd
