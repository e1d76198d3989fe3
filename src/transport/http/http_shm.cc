// SPDX-License-Identifier: Apache-2.0
// Triton's system shared-memory endpoints of the HTTP API:
//   GET  v2/systemsharedmemory[/region/{name}]/status
//   POST v2/systemsharedmemory/region/{name}/register   {"key", "offset", "byte_size"}
//   POST v2/systemsharedmemory[/region/{name}]/unregister
#include "core/client_text.h"
#include "fmt/format.h"
#include "codec/json_document.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "transport/http/http_api.h"
#include "transport/shm/shm_region_registry.h"

namespace inferd {
namespace {

HttpResponse Json(std::string body) {
  HttpResponse r;
  r.content_type = "application/json";
  r.json = std::move(body);
  return r;
}

std::string EncodeStatus(const std::vector<ShmRegionStatus>& regions) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartArray();
  for (const ShmRegionStatus& r : regions) {
    w.StartObject();
    w.Key("name");
    w.String(r.name.data(), static_cast<rapidjson::SizeType>(r.name.size()));
    w.Key("key");
    w.String(r.key.data(), static_cast<rapidjson::SizeType>(r.key.size()));
    w.Key("offset");
    w.Uint64(r.offset);
    w.Key("byte_size");
    w.Uint64(r.byte_size);
    w.EndObject();
  }
  w.EndArray();
  return buffer.GetString();
}

// {"key": string, "offset": number (optional), "byte_size": number}.
absl::Status RegisterFromBody(ShmRegionRegistry& registry, const std::string& name,
                              const HttpRequest& request) {
  rapidjson::Document doc;
  if (!codec::ParseJsonDocument({reinterpret_cast<const char*>(request.body), request.body_size},
                                "the register request body", doc)
           .ok() ||
      !doc.IsObject()) {
    return absl::InvalidArgumentError(
        "the register request body must be a JSON object {\"key\", \"offset\", \"byte_size\"}");
  }
  auto key = doc.FindMember("key");
  if (key == doc.MemberEnd() || !key->value.IsString()) {
    return absl::InvalidArgumentError("the register request needs a string 'key'");
  }
  auto size = doc.FindMember("byte_size");
  if (size == doc.MemberEnd() || !size->value.IsUint64()) {
    return absl::InvalidArgumentError(
        "the register request needs 'byte_size', a non-negative integer");
  }
  uint64_t offset = 0;
  if (auto o = doc.FindMember("offset"); o != doc.MemberEnd()) {
    if (!o->value.IsUint64()) {
      return absl::InvalidArgumentError("the register request's 'offset' must be a non-negative "
                                        "integer");
    }
    offset = o->value.GetUint64();
  }
  return registry.Register(name, std::string(key->value.GetString(), key->value.GetStringLength()),
                           offset, size->value.GetUint64());
}

}  // namespace

void HttpApi::HandleSystemSharedMemory(const HttpRequest& request,
                                       const std::vector<std::string>& s,
                                       HttpResponder respond) const {
  // v2 systemsharedmemory [region <name>] <action>
  std::string name;
  std::string action;
  if (s.size() == 3) {
    action = s[2];
  } else if (s.size() == 5 && s[2] == "region") {
    name = s[3];
    action = s[4];
  } else {
    respond(ErrorResponse(404, fmt::format("no endpoint at {} (see Triton's system shared "
                                           "memory extension)",
                                           QuoteClientText(request.target.substr(0, 200)))));
    return;
  }
  const std::string_view method = action == "status" ? "GET" : "POST";
  if ((action != "status" && action != "register" && action != "unregister") ||
      (action == "register" && name.empty())) {
    respond(ErrorResponse(404, fmt::format("no endpoint at {} (see Triton's system shared "
                                           "memory extension)",
                                           QuoteClientText(request.target.substr(0, 200)))));
    return;
  }
  if (request.method != method) {
    HttpResponse r =
        ErrorResponse(405, fmt::format("method {} is not allowed for {}; use {}", request.method,
                                       QuoteClientText(request.target.substr(0, 200)), method));
    r.allow = std::string(method);
    respond(std::move(r));
    return;
  }
  static ShmRegionRegistry disabled({});  // Refuses everything, saying how to enable it.
  ShmRegionRegistry& registry = shm_registry_ != nullptr ? *shm_registry_ : disabled;
  if (action == "status") {
    auto regions = registry.Status(name);
    respond(regions.ok() ? Json(EncodeStatus(*regions)) : ErrorResponse(regions.status()));
    return;
  }
  const absl::Status done = action == "register" ? RegisterFromBody(registry, name, request)
                                                 : registry.Unregister(name);
  respond(done.ok() ? HttpResponse{} : ErrorResponse(done));
}

}  // namespace inferd
