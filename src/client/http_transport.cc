// SPDX-License-Identifier: Apache-2.0
#include "client/http_transport.h"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <deque>
#include <future>
#include <map>
#include <optional>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "codec/arrow_ipc.h"
#include "codec/buffer_pool.h"
#include "codec/gather_body.h"
#include "codec/json_document.h"
#include "codec/kserve_json.h"
#include "codec/npy.h"
#include "fmt/format.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace inferd {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr const char* kHeaderLengthField = "Inference-Header-Content-Length";
constexpr size_t kReadSize = 64 * 1024;

using codec::GatherBody;

// A response as the transport hands it on: the body in one block that decoded outputs point into.
struct Response {
  unsigned status = 0;
  std::optional<std::string> inference_header_length;
  std::string content_type;
  std::shared_ptr<std::byte> block;  // From the transport's BufferPool.
  char* data = nullptr;
  size_t size = 0;
  std::string_view text() const { return {data, size}; }
};

struct Call {
  http::request<GatherBody> request;
  std::shared_ptr<const void> keep;  // Keeps the tensors `request` points at alive.
  std::function<void(absl::StatusOr<Response>)> done;
  bool retried = false;
};

struct Connection {
  explicit Connection(tcp::socket s) : socket(std::move(s)) {}
  tcp::socket socket;
  beast::flat_buffer buffer;
  std::optional<http::response_parser<http::vector_body<char>>> parser;
  bool used = false;
  // Registered with the transport's blocking context (nobody waits on it; calls made with
  // blocking socket operations on the caller's thread) rather than its I/O thread's.
  bool blocking = false;
};

absl::Status StatusFromHttp(unsigned code, std::string message) {
  switch (code) {
    case 400: return absl::InvalidArgumentError(message);
    case 401: return absl::UnauthenticatedError(message);
    case 403: return absl::PermissionDeniedError(message);
    case 404: return absl::NotFoundError(message);
    case 405: return absl::UnimplementedError(message);
    case 413: return absl::ResourceExhaustedError(message);
    case 501: return absl::UnimplementedError(message);
    case 503: return absl::UnavailableError(message);
    case 504: return absl::DeadlineExceededError(message);
    case 500: return absl::InternalError(message);
    default:
      return absl::UnknownError(fmt::format("HTTP status {}: {}", code, message));
  }
}

absl::Status ErrorOf(const Response& r) {
  return StatusFromHttp(r.status, codec::DecodeError(r.text()));
}

std::string PercentEncode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string ModelPath(std::string_view model, int64_t version) {
  std::string path = "/v2/models/" + PercentEncode(model);
  if (version > 0) path += fmt::format("/versions/{}", version);
  return path;
}

class HttpTransport final : public ClientTransport {
 public:
  HttpTransport(std::string host, std::string port, const HttpTransportOptions& options)
      : host_(std::move(host)), port_(std::move(port)), options_(options) {}

  ~HttpTransport() override {
    asio::post(ioc_, [this] {
      std::vector<std::shared_ptr<Connection>> connections;
      std::deque<std::shared_ptr<Call>> queued;
      {
        absl::MutexLock lock(&mu_);
        shutting_down_ = true;
        connections = std::move(idle_);
        connections.insert(connections.end(), busy_.begin(), busy_.end());
        idle_.clear();
        queued.swap(queue_);
      }
      // Closing aborts the busy connections' operations: their callbacks get errors.
      for (auto& c : connections) CloseSocket(*c);
      for (auto& call : queued) {
        call->done(absl::CancelledError("the client was destroyed before the request was sent"));
      }
    });
    work_.reset();
    if (thread_.joinable()) thread_.join();
  }

  absl::Status Start() {
    beast::error_code ec;
    tcp::resolver resolver(ioc_);
    auto results = resolver.resolve(host_, port_, ec);
    if (ec || results.empty()) {
      return absl::UnavailableError(
          fmt::format("cannot resolve http://{}:{}: {}", host_, port_, ec.message()));
    }
    endpoint_ = results.begin()->endpoint();
    // Connect once now, so a wrong address is a clear error at creation.
    tcp::socket socket(blocking_ioc_);
    socket.connect(endpoint_, ec);
    if (ec) return ConnectError(ec);
    socket.set_option(tcp::no_delay(true), ec);
    auto connection = std::make_shared<Connection>(std::move(socket));
    connection->buffer.reserve(kReadSize);
    connection->blocking = true;
    absl::MutexLock lock(&mu_);
    idle_.push_back(std::move(connection));
    open_ = 1;
    thread_ = std::thread([this] { ioc_.run(); });
    return absl::OkStatus();
  }

  void InferAsync(InferRequest request, InferCallback callback) override {
    if (auto call = MakeInferCall(std::move(request), std::move(callback))) Submit(std::move(call));
  }

  // The same call as InferAsync, waited for: on an idle connection it runs on this thread.
  absl::StatusOr<InferResponse> Infer(InferRequest request) override {
    std::optional<absl::StatusOr<InferResponse>> result;
    auto call = MakeInferCall(std::move(request), [&result](absl::StatusOr<InferResponse> r) {
      result.emplace(std::move(r));
    });
    if (call) SubmitAndWait(std::move(call));
    return *std::move(result);
  }

  // The HTTP call of an inference request; null after `callback` got an encoding error.
  std::shared_ptr<Call> MakeInferCall(InferRequest request, InferCallback callback) {
    if (options_.codec == HttpBodyCodec::kNpy || options_.codec == HttpBodyCodec::kArrow) {
      return MakeTensorBodyCall(std::move(request), std::move(callback));
    }
    auto req = std::make_shared<InferRequest>(std::move(request));
    if (req->parameters.find(codec::kBinaryDataOutput) == req->parameters.end()) {
      req->parameters[std::string(codec::kBinaryDataOutput)] = true;
    }
    auto encoded = codec::EncodeInferRequest(*req, options_.binary_inputs);
    if (!encoded.ok()) {
      callback(encoded.status());
      return nullptr;
    }
    auto call = std::make_shared<Call>();
    auto& r = call->request;
    r.method(http::verb::post);
    r.target(ModelPath(req->model_name, req->model_version) + "/infer");
    if (encoded->binary_size > 0) {
      r.set(kHeaderLengthField, std::to_string(encoded->json.size()));
      r.set(http::field::content_type, "application/octet-stream");
    } else {
      r.set(http::field::content_type, "application/json");
    }
    r.body().head = std::move(encoded->json);
    for (const auto& chunk : encoded->binary) r.body().tail.emplace_back(chunk.data(), chunk.size());
    call->keep = std::move(req);
    call->done = [callback = std::move(callback)](absl::StatusOr<Response> result) {
      if (!result.ok()) return callback(result.status());
      if (result->status != 200) return callback(ErrorOf(*result));
      size_t header = result->size;
      if (result->inference_header_length) {
        header = std::strtoull(result->inference_header_length->c_str(), nullptr, 10);
        if (header > result->size) {
          return callback(absl::DataLossError(fmt::format(
              "the response's Inference-Header-Content-Length ({}) exceeds its body ({} bytes)",
              header, result->size)));
        }
      }
      const auto* bytes = reinterpret_cast<const std::byte*>(result->data);
      callback(codec::DecodeInferResponse(std::string_view(result->data, header),
                                          {bytes + header, result->size - header},
                                          result->block));
    };
    return call;
  }

  // An inference call whose body is .npy or an Arrow IPC stream (options_.codec).
  std::shared_ptr<Call> MakeTensorBodyCall(InferRequest request, InferCallback callback) {
    auto req = std::make_shared<InferRequest>(std::move(request));
    auto call = std::make_shared<Call>();
    auto& r = call->request;
    r.method(http::verb::post);
    std::string target = ModelPath(req->model_name, req->model_version) + "/infer";
    bool batched = false;
    std::string npy_output;
    if (options_.codec == HttpBodyCodec::kNpy) {
      if (req->inputs.size() != 1) {
        callback(absl::InvalidArgumentError(fmt::format(
            "the npy codec sends one input per request; this request has {}", req->inputs.size())));
        return nullptr;
      }
      auto encoded = codec::EncodeNpy(req->inputs[0].view());
      if (!encoded.ok()) {
        callback(encoded.status());
        return nullptr;
      }
      target += "?input=" + PercentEncode(req->inputs[0].name);
      if (req->outputs.size() == 1) {
        npy_output = req->outputs[0].name;
        target += "&output=" + PercentEncode(npy_output);
        r.set(http::field::accept, std::string(codec::kNpyMediaType));
      } else {
        r.set(http::field::accept, "application/json");
      }
      r.set(http::field::content_type, std::string(codec::kNpyMediaType));
      r.body().head = std::move(encoded->header);
      if (!encoded->data.empty())
        r.body().tail.emplace_back(encoded->data.data(), encoded->data.size());
      call->keep =
          std::make_shared<std::pair<std::shared_ptr<InferRequest>, std::shared_ptr<const void>>>(
              req, std::move(encoded->storage));
    } else {
      auto max_batch_size = MaxBatchSize(req->model_name, req->model_version);
      if (!max_batch_size.ok()) {
        callback(max_batch_size.status());
        return nullptr;
      }
      batched = *max_batch_size > 0;
      std::vector<InferOutput> columns;
      for (const InferInput& in : req->inputs) {
        InferOutput o;
        o.name = in.name;
        o.datatype = in.datatype;
        o.shape = in.shape;
        o.data = in.data;
        o.byte_size = in.byte_size;
        columns.push_back(std::move(o));
      }
      auto encoded = codec::EncodeArrowStream(columns, batched);
      if (!encoded.ok()) {
        callback(encoded.status());
        return nullptr;
      }
      r.set(http::field::content_type, std::string(codec::kArrowStreamMediaType));
      r.set(http::field::accept, std::string(codec::kArrowStreamMediaType));
      r.body().head = std::move(encoded->head);
      for (const auto& chunk : encoded->body)
        r.body().tail.emplace_back(chunk.data(), chunk.size());
      call->keep =
          std::make_shared<std::pair<std::shared_ptr<InferRequest>, std::shared_ptr<const void>>>(
              req, std::move(encoded->storage));
    }
    r.target(target);
    call->done = [callback = std::move(callback), batched, npy_output,
                  req](absl::StatusOr<Response> result) {
      if (!result.ok()) return callback(result.status());
      if (result->status != 200) return callback(ErrorOf(*result));
      const auto* bytes = reinterpret_cast<const std::byte*>(result->data);
      const std::string_view type = result->content_type;
      InferResponse response;
      response.model_name = req->model_name;
      response.model_version = req->model_version;
      if (type.starts_with(codec::kNpyMediaType)) {
        auto out = codec::DecodeNpy({bytes, result->size}, result->block);
        if (!out.ok()) return callback(out.status());
        response.outputs.push_back(InferOutput{npy_output,
                                               out->datatype,
                                               std::move(out->shape),
                                               out->data,
                                               out->byte_size,
                                               std::move(out->owner),
                                               {}});
        return callback(std::move(response));
      }
      if (type.starts_with(codec::kArrowStreamMediaType)) {
        auto outs = codec::DecodeArrowStream({bytes, result->size}, result->block, batched);
        if (!outs.ok()) return callback(outs.status());
        for (InferInput& o : *outs) {
          response.outputs.push_back(InferOutput{std::move(o.name),
                                                 o.datatype,
                                                 std::move(o.shape),
                                                 o.data,
                                                 o.byte_size,
                                                 std::move(o.owner),
                                                 {}});
        }
        return callback(std::move(response));
      }
      size_t header = result->size;
      if (result->inference_header_length) {
        header = std::strtoull(result->inference_header_length->c_str(), nullptr, 10);
        if (header > result->size) header = result->size;
      }
      callback(codec::DecodeInferResponse(std::string_view(result->data, header),
                                          {bytes + header, result->size - header}, result->block));
    };
    return call;
  }

  // A model's max_batch_size from its config, read once per model and version.
  absl::StatusOr<int64_t> MaxBatchSize(const std::string& model, int64_t version) {
    const std::string key = ModelPath(model, version);
    {
      absl::MutexLock lock(&batch_mu_);
      if (auto it = max_batch_size_.find(key); it != max_batch_size_.end()) return it->second;
    }
    auto text = Json(http::verb::get, key + "/config", "");
    if (!text.ok()) return text.status();
    rapidjson::Document doc;
    if (absl::Status s = codec::ParseJsonDocument(*text, "the model config", doc); !s.ok()) {
      return s;
    }
    int64_t value = 0;
    if (doc.IsObject() && doc.HasMember("max_batch_size") && doc["max_batch_size"].IsInt64()) {
      value = doc["max_batch_size"].GetInt64();
    }
    absl::MutexLock lock(&batch_mu_);
    max_batch_size_[key] = value;
    return value;
  }

  absl::StatusOr<bool> IsServerLive() override { return Health("/v2/health/live"); }
  absl::StatusOr<bool> IsServerReady() override { return Health("/v2/health/ready"); }
  absl::StatusOr<bool> IsModelReady(std::string_view model, int64_t version) override {
    auto r = RoundTrip(http::verb::get, ModelPath(model, version) + "/ready", "");
    if (!r.ok()) return r.status();
    if (r->status == 200) return true;
    if (r->status == 400) return false;
    return ErrorOf(*r);
  }
  absl::StatusOr<ServerMetadata> GetServerMetadata() override {
    auto r = Json(http::verb::get, "/v2", "");
    if (!r.ok()) return r.status();
    return codec::DecodeServerMetadata(*r);
  }
  absl::StatusOr<ModelMetadata> GetModelMetadata(std::string_view model,
                                                 int64_t version) override {
    auto r = Json(http::verb::get, ModelPath(model, version), "");
    if (!r.ok()) return r.status();
    return codec::DecodeModelMetadata(*r);
  }
  absl::Status LoadModel(std::string_view model) override {
    return Json(http::verb::post, "/v2/repository/models/" + PercentEncode(model) + "/load", "")
        .status();
  }
  // Triton's system shared-memory extension.
  absl::Status RegisterSystemSharedMemory(std::string_view name, std::string_view key,
                                          uint64_t byte_size, uint64_t offset) override {
    rapidjson::StringBuffer body;
    rapidjson::Writer<rapidjson::StringBuffer> w(body);
    w.StartObject();
    w.Key("key");
    w.String(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    w.Key("offset");
    w.Uint64(offset);
    w.Key("byte_size");
    w.Uint64(byte_size);
    w.EndObject();
    return Json(http::verb::post, ShmPath(name) + "/register", body.GetString()).status();
  }
  absl::Status UnregisterSystemSharedMemory(std::string_view name) override {
    return Json(http::verb::post, ShmPath(name) + "/unregister", "").status();
  }
  absl::StatusOr<std::vector<SharedMemoryRegionStatus>> GetSystemSharedMemoryStatus(
      std::string_view name) override {
    auto r = Json(http::verb::get, ShmPath(name) + "/status", "");
    if (!r.ok()) return r.status();
    rapidjson::Document doc;
    if (!codec::ParseJsonDocument(*r, "the response JSON", doc).ok() || !doc.IsArray()) {
      return absl::InternalError("the shared-memory status response is not a JSON array");
    }
    std::vector<SharedMemoryRegionStatus> out;
    for (const auto& v : doc.GetArray()) {
      if (!v.IsObject()) continue;
      SharedMemoryRegionStatus s;
      if (auto it = v.FindMember("name"); it != v.MemberEnd() && it->value.IsString()) {
        s.name = it->value.GetString();
      }
      if (auto it = v.FindMember("key"); it != v.MemberEnd() && it->value.IsString()) {
        s.key = it->value.GetString();
      }
      if (auto it = v.FindMember("offset"); it != v.MemberEnd() && it->value.IsUint64()) {
        s.offset = it->value.GetUint64();
      }
      if (auto it = v.FindMember("byte_size"); it != v.MemberEnd() && it->value.IsUint64()) {
        s.byte_size = it->value.GetUint64();
      }
      out.push_back(std::move(s));
    }
    return out;
  }
  static std::string ShmPath(std::string_view name) {
    return name.empty() ? "/v2/systemsharedmemory"
                        : "/v2/systemsharedmemory/region/" + PercentEncode(name);
  }
  absl::Status UnloadModel(std::string_view model) override {
    return Json(http::verb::post, "/v2/repository/models/" + PercentEncode(model) + "/unload",
                "")
        .status();
  }
  absl::StatusOr<std::vector<ModelIndexEntry>> GetRepositoryIndex(bool ready_only) override {
    auto r = Json(http::verb::post, "/v2/repository/index",
                  ready_only ? R"({"ready":true})" : "{}");
    if (!r.ok()) return r.status();
    return codec::DecodeRepositoryIndex(*r);
  }
  absl::StatusOr<std::vector<ModelStatistics>> GetModelStatistics(std::string_view model,
                                                                  int64_t version) override {
    const std::string path = model.empty() ? "/v2/models" : ModelPath(model, version);
    auto r = Json(http::verb::get, path + "/stats", "");
    if (!r.ok()) return r.status();
    return codec::DecodeModelStatistics(*r);
  }

 private:
  absl::StatusOr<bool> Health(const std::string& path) {
    auto r = RoundTrip(http::verb::get, path, "");
    if (!r.ok()) return r.status();
    return r->status == 200;
  }

  // A request whose success is 200; the body on success, the error body's message otherwise.
  absl::StatusOr<std::string> Json(http::verb verb, const std::string& path, std::string body) {
    auto r = RoundTrip(verb, path, std::move(body));
    if (!r.ok()) return r.status();
    if (r->status != 200) return ErrorOf(*r);
    return std::string(r->text());
  }

  absl::StatusOr<Response> RoundTrip(http::verb verb, const std::string& path, std::string body) {
    auto call = std::make_shared<Call>();
    call->request.method(verb);
    call->request.target(path);
    if (!body.empty()) call->request.set(http::field::content_type, "application/json");
    call->request.body().head = std::move(body);
    std::optional<absl::StatusOr<Response>> result;
    call->done = [&result](absl::StatusOr<Response> r) { result.emplace(std::move(r)); };
    SubmitAndWait(std::move(call));
    return *std::move(result);
  }

  void Prepare(Call& call) {
    auto& r = call.request;
    r.version(11);
    r.set(http::field::host, host_ + ":" + port_);
    r.keep_alive(true);
    r.prepare_payload();
  }

  void Submit(std::shared_ptr<Call> call) {
    Prepare(*call);
    Dispatch(std::move(call));
  }

  // Runs the call and returns once its `done` has run. On an idle connection the whole exchange
  // happens on this thread with blocking socket calls: no hand-off to the I/O thread and back,
  // which costs more than a small request's round trip. Otherwise (every connection busy, or
  // none open) the call goes through Dispatch and this thread waits.
  void SubmitAndWait(std::shared_ptr<Call> call) {
    Prepare(*call);
    absl::StatusOr<std::shared_ptr<Connection>> c = TakeForBlocking();
    if (!c.ok()) {  // Connecting failed: reported now, not by connecting again through Dispatch.
      call->done(c.status());
      return;
    }
    if (*c != nullptr) {
      if (RunBlocking(*std::move(c), call)) return;
      // The server had closed that idle connection: retried below, once, on another.
    }
    absl::Notification finished;
    call->done = [&finished, done = std::move(call->done)](absl::StatusOr<Response> r) {
      done(std::move(r));
      finished.Notify();
    };
    Dispatch(std::move(call));
    finished.WaitForNotification();
  }

  absl::Status ConnectError(const beast::error_code& ec) const {
    return absl::UnavailableError(
        fmt::format("cannot connect to http://{}:{}: {}", host_, port_, ec.message()));
  }

  // A busy connection for a blocking call: an idle one, or a new one connected here; null when
  // every connection is busy; UNAVAILABLE when connecting failed.
  absl::StatusOr<std::shared_ptr<Connection>> TakeForBlocking() {
    std::shared_ptr<Connection> c;
    {
      absl::MutexLock lock(&mu_);
      if (shutting_down_) return nullptr;
      c = TakeIdleLocked(/*blocking=*/true);
      if (c == nullptr) {
        if (open_ >= options_.max_connections) return nullptr;
        ++open_;
        c = std::make_shared<Connection>(tcp::socket(blocking_ioc_));
        c->buffer.reserve(kReadSize);
        c->blocking = true;
      }
      busy_.push_back(c);
    }
    if (!c->socket.is_open()) {
      beast::error_code ec;
      c->socket.connect(endpoint_, ec);
      if (!ec) c->socket.set_option(tcp::no_delay(true), ec);
      if (ec) {
        Finish(c, /*keep=*/false);
        return ConnectError(ec);
      }
      return c;
    }
    return c->blocking ? c : Rehome(std::move(c), /*blocking=*/true);
  }

  // An idle connection, of the wanted kind if there is one; the caller marks it busy.
  std::shared_ptr<Connection> TakeIdleLocked(bool blocking) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (idle_.empty()) return nullptr;
    auto it = std::find_if(idle_.rbegin(), idle_.rend(),
                           [blocking](const auto& c) { return c->blocking == blocking; });
    auto pick = it != idle_.rend() ? std::prev(it.base()) : std::prev(idle_.end());
    std::shared_ptr<Connection> c = std::move(*pick);
    idle_.erase(pick);
    return c;
  }

  // Moves a busy connection's socket to the other context (two epoll_ctl calls): a connection
  // serves blocking calls and asynchronous ones in turn when the caller mixes them. A socket
  // registered with the I/O thread's context would wake that thread on every response, even one
  // that a blocking call reads.
  std::shared_ptr<Connection> Rehome(std::shared_ptr<Connection> c, bool blocking) {
    beast::error_code ec;
    const tcp::socket::native_handle_type fd = c->socket.release(ec);
    tcp::socket socket(blocking ? blocking_ioc_ : ioc_);
    if (!ec) socket.assign(endpoint_.protocol(), fd, ec);
    auto moved = std::make_shared<Connection>(std::move(socket));
    moved->buffer = std::move(c->buffer);
    moved->used = c->used;
    moved->blocking = blocking;
    absl::MutexLock lock(&mu_);
    std::replace(busy_.begin(), busy_.end(), c, moved);
    return moved;
  }

  // The exchange of Run and ReadBody with blocking calls on this thread. False (and `done` not
  // run) when a reused connection failed and the call should be retried on another.
  bool RunBlocking(std::shared_ptr<Connection> c, const std::shared_ptr<Call>& call) {
    const bool reused = c->used;
    c->used = true;
    beast::error_code ec;
    http::write(c->socket, call->request, ec);
    if (!ec) {
      c->parser.emplace();
      c->parser->body_limit(std::numeric_limits<std::uint64_t>::max());
      http::read_header(c->socket, c->buffer, *c->parser, ec);
    }
    Response response;
    bool keep = false;
    if (!ec) {
      response = HeaderOf(*c->parser);
      keep = c->parser->get().keep_alive();
      if (std::optional<uint64_t> length = BodyLength(*c->parser)) {
        const size_t rest = StartBody(*c, response, *length);
        asio::read(c->socket, asio::buffer(response.data + (response.size - rest), rest),
                   codec::ReadAllAvailable(rest), ec);
      } else {
        http::read(c->socket, c->buffer, *c->parser, ec);
        if (!ec) {
          TakeParsedBody(*c, response);
          keep = c->parser->get().keep_alive();
        }
      }
    }
    if (ec) {
      Finish(c, /*keep=*/false);
      if (TakeRetry(*call, reused)) return false;
      call->done(FailedError(*call, ec));
      return true;
    }
    Finish(c, keep);
    call->done(std::move(response));
    return true;
  }

  // Runs the call on an idle connection (starting its write on this thread: no hand-off to the
  // I/O thread before the request is on the wire), on a new connection, or queues it.
  void Dispatch(std::shared_ptr<Call> call) {
    std::shared_ptr<Connection> c;
    bool connect = false;
    bool refused = false;
    {
      absl::MutexLock lock(&mu_);
      if (shutting_down_) {
        refused = true;
      } else if (!idle_.empty()) {
        c = TakeIdleLocked(/*blocking=*/false);
      } else if (open_ < options_.max_connections) {
        ++open_;
        c = std::make_shared<Connection>(tcp::socket(ioc_));
        c->buffer.reserve(kReadSize);  // Beast reads at most the free capacity.
        connect = true;
      } else {
        queue_.push_back(std::move(call));
      }
      if (c) busy_.push_back(c);
    }
    if (refused) {
      call->done(absl::CancelledError("the client is being destroyed"));
      return;
    }
    if (!c) return;  // Queued: a connection that finishes its call takes it.
    if (!connect) return Run(std::move(c), std::move(call));
    c->socket.async_connect(endpoint_, [this, c, call](beast::error_code ec) mutable {
      if (ec) {
        Finish(c, /*keep=*/false);
        call->done(ConnectError(ec));
        return;
      }
      c->socket.set_option(tcp::no_delay(true), ec);
      Run(std::move(c), std::move(call));
    });
  }

  // `c` is busy and owned by this call until Finish. Completions run on the I/O thread.
  void Run(std::shared_ptr<Connection> c, std::shared_ptr<Call> call) {
    if (c->blocking) c = Rehome(std::move(c), /*blocking=*/false);
    const bool reused = c->used;
    c->used = true;
    http::async_write(c->socket, call->request,
                      [this, c, call, reused](beast::error_code ec, size_t) mutable {
                        if (ec) return Failed(std::move(c), std::move(call), ec, reused);
                        c->parser.emplace();
                        c->parser->body_limit(std::numeric_limits<std::uint64_t>::max());
                        http::async_read_header(
                            c->socket, c->buffer, *c->parser,
                            [this, c, call, reused](beast::error_code ec, size_t) mutable {
                              if (ec) return Failed(std::move(c), std::move(call), ec, reused);
                              ReadBody(std::move(c), std::move(call));
                            });
                      });
  }

  // With a Content-Length the body is read straight into the block the decoded outputs will
  // point into; otherwise (chunked) Beast's parser decodes it first.
  void ReadBody(std::shared_ptr<Connection> c, std::shared_ptr<Call> call) {
    auto response = std::make_shared<Response>(HeaderOf(*c->parser));
    const bool keep = c->parser->get().keep_alive();
    const std::optional<uint64_t> length = BodyLength(*c->parser);
    if (!length) {
      http::async_read(c->socket, c->buffer, *c->parser,
                       [this, c, call, response](beast::error_code ec, size_t) mutable {
                         if (ec) return Failed(std::move(c), std::move(call), ec, false);
                         TakeParsedBody(*c, *response);
                         Finish(c, c->parser->get().keep_alive());
                         call->done(std::move(*response));
                       });
      return;
    }
    const size_t rest = StartBody(*c, *response, *length);
    asio::async_read(c->socket, asio::buffer(response->data + (response->size - rest), rest),
                     codec::ReadAllAvailable(rest),
                     [this, c, call, response, keep](beast::error_code ec, size_t) mutable {
                       if (ec) return Failed(std::move(c), std::move(call), ec, false);
                       Finish(c, keep);
                       call->done(std::move(*response));
                     });
  }

  // The Content-Length of a response whose header `parser` read; none for a chunked body. Parsed
  // here rather than through parser.content_length(), whose boost::optional trips GCC's
  // -Wmaybe-uninitialized under ASan (Beast's parser validated the field).
  static std::optional<uint64_t> BodyLength(
      const http::response_parser<http::vector_body<char>>& parser) {
    const auto field = parser.get()[http::field::content_length];
    uint64_t length = 0;
    if (parser.chunked() || field.empty() ||
        std::from_chars(field.data(), field.data() + field.size(), length).ec != std::errc()) {
      return std::nullopt;
    }
    return length;
  }

  // The status and Inference-Header-Content-Length of a response whose header `parser` read.
  static Response HeaderOf(const http::response_parser<http::vector_body<char>>& parser) {
    Response response;
    const auto& header = parser.get();
    response.status = header.result_int();
    if (auto it = header.find(kHeaderLengthField); it != header.end()) {
      response.inference_header_length = std::string(it->value());
    }
    if (auto it = header.find(http::field::content_type); it != header.end()) {
      response.content_type = std::string(it->value());
    }
    return response;
  }

  // A body of known `length`: its block (pooled, so a steady stream of large responses writes
  // into memory that is already mapped), with the bytes the header read already buffered moved
  // in; returns how many are still to be read from the socket.
  size_t StartBody(Connection& c, Response& response, uint64_t length) {
    response.size = static_cast<size_t>(length);
    AllocateBody(response);
    const size_t buffered = std::min(c.buffer.size(), response.size);
    asio::buffer_copy(asio::buffer(response.data, buffered), c.buffer.data());
    c.buffer.consume(buffered);
    return response.size - buffered;
  }

  // A chunked body, which Beast's parser decoded: copied into the response's block.
  void TakeParsedBody(Connection& c, Response& response) {
    const auto& body = c.parser->get().body();
    response.size = body.size();
    AllocateBody(response);
    std::copy(body.begin(), body.end(), response.data);
  }

  // Whether a call that failed on `reused` (a keep-alive connection the server may have closed
  // while it was idle) gets its one retry on another connection; marks it retried.
  bool TakeRetry(Call& call, bool reused) {
    absl::MutexLock lock(&mu_);
    if (!reused || call.retried || shutting_down_) return false;
    call.retried = true;
    return true;
  }

  absl::Status FailedError(const Call& call, const beast::error_code& ec) const {
    return absl::UnavailableError(fmt::format("HTTP request to http://{}:{}{} failed: {}", host_,
                                              port_, std::string(call.request.target()),
                                              ec.message()));
  }

  // A pooled block for the body, placed so that the binary part (after the JSON header) starts
  // 64-byte aligned: outputs are views into it and callers read them as typed arrays.
  void AllocateBody(Response& response) {
    size_t header = 0;
    if (response.inference_header_length) {
      header = std::strtoull(response.inference_header_length->c_str(), nullptr, 10);
    }
    response.block = pool_->Get(response.size + 64);
    response.data = reinterpret_cast<char*>(response.block.get()) + (64 - header % 64) % 64;
  }

  void Failed(std::shared_ptr<Connection> c, std::shared_ptr<Call> call, beast::error_code ec,
              bool reused) {
    Finish(c, /*keep=*/false);
    if (TakeRetry(*call, reused)) return Dispatch(std::move(call));
    call->done(FailedError(*call, ec));
  }

  // The connection's call is over: back to the pool (or on to the next queued call), or closed.
  void Finish(const std::shared_ptr<Connection>& c, bool keep) {
    std::shared_ptr<Call> next;
    bool reuse = false;
    {
      absl::MutexLock lock(&mu_);
      std::erase(busy_, c);
      if (!keep || shutting_down_) {
        CloseSocket(*c);
        --open_;
        if (queue_.empty() || shutting_down_) return;
        next = std::move(queue_.front());
        queue_.pop_front();
      } else if (!queue_.empty()) {
        next = std::move(queue_.front());
        queue_.pop_front();
        busy_.push_back(c);
        reuse = true;
      } else {
        idle_.push_back(c);
        return;
      }
    }
    if (reuse) return Run(c, std::move(next));
    Dispatch(std::move(next));
  }

  static void CloseSocket(Connection& c) {
    beast::error_code ec;
    c.socket.shutdown(tcp::socket::shutdown_both, ec);
    c.socket.close(ec);
  }

  const std::string host_;
  const std::string port_;
  const HttpTransportOptions options_;
  const std::shared_ptr<BufferPool> pool_ = BufferPool::Create(options_.buffer_cache_bytes);
  absl::Mutex batch_mu_;
  std::map<std::string, int64_t> max_batch_size_ ABSL_GUARDED_BY(batch_mu_);
  // Blocking calls' sockets: never run, so their responses wake only the thread that waits.
  asio::io_context blocking_ioc_{1};
  asio::io_context ioc_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_{ioc_.get_executor()};
  std::thread thread_;
  tcp::endpoint endpoint_;
  absl::Mutex mu_;
  std::vector<std::shared_ptr<Connection>> idle_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<Connection>> busy_ ABSL_GUARDED_BY(mu_);
  std::deque<std::shared_ptr<Call>> queue_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ClientTransport>> CreateHttpTransport(
    std::string_view address, const HttpTransportOptions& given) {
  HttpTransportOptions options = given;
  if (const size_t q = address.find('?'); q != std::string_view::npos) {
    const std::string_view query = address.substr(q + 1);
    address = address.substr(0, q);
    if (!query.starts_with("codec=") || query.find('&') != std::string_view::npos) {
      return absl::InvalidArgumentError(fmt::format(
          "http:// URL query '{}' is not understood; expected ?codec=binary|json|npy|arrow",
          query));
    }
    const std::string_view codec = query.substr(6);
    if (codec == "binary") {
      options.codec = HttpBodyCodec::kBinary;
    } else if (codec == "json") {
      options.codec = HttpBodyCodec::kJson;
      options.binary_inputs = false;
    } else if (codec == "npy") {
      options.codec = HttpBodyCodec::kNpy;
    } else if (codec == "arrow") {
      options.codec = HttpBodyCodec::kArrow;
    } else {
      return absl::InvalidArgumentError(
          fmt::format("http:// codec '{}' is not one of binary, json, npy, arrow", codec));
    }
  }
  address = address.substr(0, address.find('/'));
  std::string host;
  std::string port = "8000";
  if (!address.empty() && address.front() == '[') {  // [::1]:8000
    const size_t close = address.find(']');
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError(fmt::format("bad IPv6 address in http://{}", address));
    }
    host = std::string(address.substr(1, close - 1));
    if (close + 1 < address.size() && address[close + 1] == ':') {
      port = std::string(address.substr(close + 2));
    }
  } else {
    const size_t colon = address.rfind(':');
    host = std::string(address.substr(0, colon));
    if (colon != std::string_view::npos) port = std::string(address.substr(colon + 1));
  }
  if (host.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("client URL http://{} has no host; expected http://host:port", address));
  }
  if (options.max_connections < 1) {
    return absl::InvalidArgumentError("an HTTP client needs at least one connection");
  }
  auto transport = std::make_unique<HttpTransport>(std::move(host), std::move(port), options);
  if (absl::Status s = transport->Start(); !s.ok()) return s;
  return transport;
}

}  // namespace inferd
