// SPDX-License-Identifier: Apache-2.0
// The KServe v2 HTTP/REST API with Triton's binary tensor, model repository, model configuration
// and statistics extensions, over plain request/response structs: this file knows nothing of
// sockets or Beast (http_server.h does the wire), so every endpoint is testable on its own.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "server/inference_server.h"

namespace inferd {

class ShmRegionRegistry;

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // Path and query, as sent.
  // The Inference-Header-Content-Length header, when present (as sent, parsed by the API).
  std::optional<std::string> inference_header_length;
  // The body. `body_owner` keeps it alive; inputs sent as binary data become views into it.
  const std::byte* body = nullptr;
  size_t body_size = 0;
  std::shared_ptr<const void> body_owner;
  // Content-Encoding of the body and the client's Accept-Encoding (empty when absent).
  std::string content_encoding;
  std::string accept_encoding;
  // Content-Type of the body and the client's Accept (empty when absent): the infer endpoint's
  // body formats (KServe JSON, application/x-npy, application/vnd.apache.arrow.stream).
  std::string content_type;
  std::string accept;
};

struct HttpResponse {
  int status = 200;
  std::string content_type;  // Empty with an empty body.
  std::string json;          // The body, or its JSON header when binary chunks follow.
  // Set when binary chunks follow the JSON: the Inference-Header-Content-Length header.
  std::optional<size_t> inference_header_length;
  std::vector<std::span<const std::byte>> binary;
  std::shared_ptr<const void> binary_owner;  // Keeps `binary` alive.
  // Methods the path allows, for the Allow header of a 405.
  std::string allow;
  // Set when the body is compressed (gzip or deflate): the Content-Encoding header.
  std::string content_encoding;
};

using HttpResponder = std::function<void(HttpResponse)>;

class HttpApi {
 public:
  // `server` must outlive the API. Inference outputs go to `output_allocator` (null: heap
  // buffers owned by the response).
  // `shm_registry` (may be null) serves Triton's system shared-memory extension.
  // `max_body_bytes` bounds a compressed body once decompressed (--http-max-input-size).
  explicit HttpApi(InferenceServer* server,
                   std::shared_ptr<OutputAllocator> output_allocator = nullptr,
                   ShmRegionRegistry* shm_registry = nullptr,
                   size_t max_body_bytes = size_t{64} << 20)
      : server_(server),
        output_allocator_(std::move(output_allocator)),
        shm_registry_(shm_registry),
        max_body_bytes_(max_body_bytes) {}

  // Handles one request; `respond` runs exactly once, on the calling thread or (for inference)
  // on a model instance's thread. Thread-safe. A body with a Content-Encoding (gzip, deflate) is
  // decompressed first; the response is compressed when the client's Accept-Encoding allows.
  void Handle(HttpRequest request, HttpResponder respond) const;

  // The response for a status that is not OK: {"error": message} with the mapped HTTP status.
  static HttpResponse ErrorResponse(const absl::Status& status);
  static HttpResponse ErrorResponse(int http_status, std::string_view message);

 private:
  // Handle without the exception boundary.
  void HandleRequest(HttpRequest request, HttpResponder respond) const;
  void HandleInfer(HttpRequest request, std::string model, int64_t version,
                   HttpResponder respond) const;

  // v2/systemsharedmemory[/region/{name}]/{status,register,unregister} (http_shm.cc).
  void HandleSystemSharedMemory(const HttpRequest& request,
                                const std::vector<std::string>& segments,
                                HttpResponder respond) const;

  InferenceServer* server_;
  std::shared_ptr<OutputAllocator> output_allocator_;
  ShmRegionRegistry* shm_registry_;
  size_t max_body_bytes_;
};

}  // namespace inferd
