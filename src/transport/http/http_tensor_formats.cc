// SPDX-License-Identifier: Apache-2.0
#include "transport/http/http_tensor_formats.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <utility>
#include <vector>

#include "codec/arrow_ipc.h"
#include "codec/npy.h"
#include "core/client_text.h"
#include "fmt/format.h"

namespace inferd::http_detail {
namespace {

constexpr std::string_view kArrowStream = codec::kArrowStreamMediaType;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "type/subtype" of a media type, parameters dropped, lower case.
std::string MediaType(std::string_view value) {
  return Lower(Trim(value.substr(0, value.find(';'))));
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexDigit(s[i + 1]) >= 0 && HexDigit(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexDigit(s[i + 1]) * 16 + HexDigit(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

}  // namespace

std::string_view MediaTypeOf(BodyFormat format) {
  switch (format) {
    case BodyFormat::kNpy:
      return codec::kNpyMediaType;
    case BodyFormat::kArrow:
      return kArrowStream;
    case BodyFormat::kKserve:
      break;
  }
  return "application/json";
}

BodyFormat RequestBodyFormat(std::string_view content_type) {
  const std::string type = MediaType(content_type);
  if (type == codec::kNpyMediaType) return BodyFormat::kNpy;
  if (type == kArrowStream) return BodyFormat::kArrow;
  return BodyFormat::kKserve;
}

std::optional<BodyFormat> ResponseBodyFormat(std::string_view accept, BodyFormat request_format) {
  if (Trim(accept).empty()) return request_format;
  std::optional<BodyFormat> best;
  double best_q = 0;
  size_t start = 0;
  while (start <= accept.size()) {
    size_t end = accept.find(',', start);
    if (end == std::string_view::npos) end = accept.size();
    const std::string_view item = accept.substr(start, end - start);
    start = end + 1;
    double q = 1;
    for (size_t p = item.find(';'); p != std::string_view::npos; p = item.find(';', p + 1)) {
      std::string_view param = Trim(item.substr(p + 1, item.find(';', p + 1) - p - 1));
      if (param.size() > 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
        q = std::strtod(std::string(param.substr(2)).c_str(), nullptr);
      }
    }
    const std::string type = MediaType(item);
    std::optional<BodyFormat> format;
    if (type == "*/*" || type == "application/*") {
      format = request_format;
    } else if (type == "application/json" || type == "application/octet-stream") {
      format = BodyFormat::kKserve;
    } else if (type == codec::kNpyMediaType) {
      format = BodyFormat::kNpy;
    } else if (type == kArrowStream) {
      format = BodyFormat::kArrow;
    }
    if (format && q > 0 && q > best_q) {
      best = format;
      best_q = q;
    }
  }
  return best;
}

std::string NotAcceptableMessage(std::string_view accept) {
  return fmt::format(
      "cannot produce any media type of Accept {} for an inference response; this server "
      "produces application/json (KServe, with the binary tensor extension), {} and {}",
      QuoteClientText(accept), codec::kNpyMediaType, kArrowStream);
}

std::optional<std::string> QueryParameter(std::string_view target, std::string_view key) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (PercentDecode(pair.substr(0, eq)) == key) {
      return eq == std::string_view::npos ? std::string() : PercentDecode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

absl::StatusOr<InferRequest> NpyInferRequest(const inference::ModelConfig& config,
                                             const HttpRequest& request) {
  std::string name;
  if (auto named = QueryParameter(request.target, "input")) {
    name = std::move(*named);
  } else if (config.input_size() == 1) {
    name = config.input(0).name();
  } else {
    return absl::InvalidArgumentError(fmt::format(
        "model {} has {} inputs; name the one the .npy body is with the query parameter "
        "'?input=NAME'",
        QuoteClientText(config.name()), config.input_size()));
  }
  auto input = codec::DecodeNpy({request.body, request.body_size}, request.body_owner);
  if (!input.ok()) return input.status();
  input->name = std::move(name);
  InferRequest out;
  out.inputs.push_back(*std::move(input));
  return out;
}

absl::Status SelectSingleOutput(const inference::ModelConfig& config, std::string_view target,
                                InferRequest& request) {
  if (auto named = QueryParameter(target, "output")) {
    request.outputs.clear();
    request.outputs.push_back({*std::move(named), {}});
    return absl::OkStatus();
  }
  if (request.outputs.size() == 1) return absl::OkStatus();
  if (request.outputs.empty() && config.output_size() == 1) {
    request.outputs.push_back({config.output(0).name(), {}});
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(fmt::format(
      "a .npy response ({}) holds one output and model {} has {}; name it with the query "
      "parameter '?output=NAME'",
      codec::kNpyMediaType, QuoteClientText(config.name()),
      request.outputs.empty() ? config.output_size() : static_cast<int>(request.outputs.size())));
}

absl::StatusOr<HttpResponse> NpyResponse(std::shared_ptr<const InferResponse> response) {
  if (response->outputs.size() != 1) {
    return absl::InternalError(
        fmt::format("the model returned {} outputs for a .npy response", response->outputs.size()));
  }
  auto encoded = codec::EncodeNpy(response->outputs[0].view());
  if (!encoded.ok()) return encoded.status();
  HttpResponse r;
  r.content_type = std::string(codec::kNpyMediaType);
  r.json = std::move(encoded->header);
  if (!encoded->data.empty()) r.binary.push_back(encoded->data);
  r.binary_owner = std::make_shared<
      std::pair<std::shared_ptr<const InferResponse>, std::shared_ptr<const void>>>(
      std::move(response), std::move(encoded->storage));
  return r;
}

absl::StatusOr<InferRequest> ArrowInferRequest(const inference::ModelConfig& config,
                                               const HttpRequest& request) {
  auto inputs = codec::DecodeArrowStream({request.body, request.body_size}, request.body_owner,
                                         config.max_batch_size() > 0);
  if (!inputs.ok()) return inputs.status();
  InferRequest out;
  out.inputs = *std::move(inputs);
  return out;
}

absl::StatusOr<HttpResponse> ArrowResponse(std::shared_ptr<const InferResponse> response,
                                           bool batched) {
  auto encoded = codec::EncodeArrowStream(response->outputs, batched);
  if (!encoded.ok()) return encoded.status();
  HttpResponse r;
  r.content_type = std::string(kArrowStream);
  r.json = std::move(encoded->head);
  r.binary = std::move(encoded->body);
  r.binary_owner = std::make_shared<
      std::pair<std::shared_ptr<const InferResponse>, std::shared_ptr<const void>>>(
      std::move(response), std::move(encoded->storage));
  return r;
}

}  // namespace inferd::http_detail
