// SPDX-License-Identifier: Apache-2.0
#include "transport/http/http_server.h"

#include <malloc.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <future>
#include <limits>
#include <optional>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "codec/buffer_pool.h"
#include "codec/gather_body.h"
#include "codec/kserve_json.h"
#include "core/cpus.h"
#include "core/exception_boundary.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"
#include "transport/http/beast_bodies.h"
#include "transport/http/beast_request.h"
#include "transport/http/http_api.h"

namespace inferd {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using http_detail::AlignBodyForBinaryData;
using http_detail::GatherBody;
using http_detail::kHeaderLengthField;
using http_detail::MakeHttpRequest;
using http_detail::RequestBody;

constexpr size_t kHeaderLimit = 64 * 1024;
constexpr size_t kReadSize = 64 * 1024;
// The read buffer's bound: a header, or a chunk-size line with its extensions, must fit in it.
constexpr size_t kChunkLineLimit = kHeaderLimit + kReadSize;

// The message of a 400 for a chunked body that Beast's parser refused.
static std::string ChunkedBodyError(beast::error_code ec) {
  if (ec == http::error::bad_chunk) {
    return "malformed chunked request body: a chunk size is not a hexadecimal number that fits "
           "in 64 bits, or a chunk's data is not followed by CRLF";
  }
  if (ec == http::error::bad_chunk_extension) {
    return "malformed chunked request body: bad chunk extension (expected ';name' or "
           "';name=value' after the chunk size)";
  }
  if (ec == http::error::buffer_overflow) {
    return fmt::format(
        "malformed chunked request body: a chunk header line is longer than {} "
        "bytes",
        kChunkLineLimit);
  }
  return fmt::format("malformed chunked request body: {}", ec.message());
}

// A number from a /proc/sys file; -1 when it cannot be read.
static int64_t ReadSysctl(const char* path) {
  std::ifstream in(path);
  int64_t value = -1;
  if (!(in >> value)) return -1;
  return value;
}

namespace {

// A connection as the I/O thread's sweeper sees it: a deadline (steady-clock nanoseconds, 0 for
// none) checked every sweep, and what to do when it passes.
class TimedConnection {
 public:
  virtual ~TimedConnection() = default;
  // On the connection's I/O thread.
  virtual void CheckDeadline(int64_t now_ns) = 0;
};

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A request body or response this large is followed by handing memory back to the system
// (BufferPool's cached blocks and malloc's free pages), once no large one has come for
// kTrimDelay: a server that served one 64 MiB request should not stay 400 MB large.
constexpr size_t kLargeMessageBytes = size_t{4} << 20;
constexpr auto kTrimDelay = std::chrono::seconds(1);
// Responses up to this size are never refused for --http-max-unsent-bytes (error bodies).
constexpr size_t kSmallResponseBytes = 64 * 1024;
// How long accept pauses when the process or system is out of file descriptors or memory.
constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);

}  // namespace

// One io_context per I/O thread, each run by its thread alone (no hand-off between I/O threads: a
// connection lives on one thread, which reads, runs a short model inline, and writes; asio keeps
// its locks, since responses of models that ran on instance threads are posted from those
// threads). The acceptor hands new connections out round robin. Each I/O thread sweeps its own
// connections' deadlines (one timer per thread, not one per connection and phase).
struct HttpServer::Impl {
  struct IoThread {
    explicit IoThread() : context(1), sweeper(context) {}
    asio::io_context context;
    asio::steady_timer sweeper;
    std::vector<std::weak_ptr<TimedConnection>> connections;  // This thread's only.
  };

  Impl(const HttpServerOptions& options, HttpHandler handler_in, InferenceServer* server)
      : options(options),
        pool(BufferPool::Create(options.buffer_cache_bytes)),
        api(server ? std::make_unique<HttpApi>(server, pool->output_allocator(),
                                               options.shm_registry, options.max_input_size)
                   : nullptr),
        handler(api ? ApiHandler(api.get()) : std::move(handler_in)),
        io(MakeThreads(options.thread_count > 0 ? options.thread_count : AvailableCpus())),
        acceptor(io.front()->context),
        accept_timer(io.front()->context),
        trim_timer(io.front()->context) {
    int shortest = 0;
    for (int t : {options.header_timeout_ms, options.body_timeout_ms, options.idle_timeout_ms,
                  options.send_timeout_ms}) {
      if (t > 0 && (shortest == 0 || t < shortest)) shortest = t;
    }
    // Deadlines are met within a sweep period: an eighth of the shortest timeout, 5-250 ms.
    sweep_period = std::chrono::milliseconds(std::clamp(shortest / 8, 5, 250));
  }

  static HttpHandler ApiHandler(const HttpApi* api) {
    return [api](HttpRequest request, HttpResponder respond) {
      api->Handle(std::move(request), std::move(respond));
    };
  }

  static std::vector<std::unique_ptr<IoThread>> MakeThreads(int count) {
    std::vector<std::unique_ptr<IoThread>> out;
    for (int i = 0; i < std::max(1, count); ++i) out.push_back(std::make_unique<IoThread>());
    return out;
  }

  void Accept();
  void OnAcceptError(const beast::error_code& ec);
  void Refuse(tcp::socket socket);
  void Sweep(IoThread* thread);
  // A large body or response was just released: trim once none has come for kTrimDelay.
  void LargeMessageDone();
  void Trim();

  // Counts a response of `bytes` as unsent; false (nothing counted) when it is larger than
  // kSmallResponseBytes and would take the unsent total past max_unsent_bytes while other
  // responses wait (one response always goes through).
  bool ReserveUnsent(size_t bytes) {
    size_t unsent = unsent_bytes.load(std::memory_order_relaxed);
    do {
      if (bytes > kSmallResponseBytes && unsent > 0 &&
          unsent + bytes > options.max_unsent_bytes) {
        return false;
      }
    } while (!unsent_bytes.compare_exchange_weak(unsent, unsent + bytes,
                                                 std::memory_order_relaxed));
    return true;
  }

  void RequestStarted() {
    absl::MutexLock lock(&mu);
    ++in_flight;
  }
  void RequestFinished() {
    absl::MutexLock lock(&mu);
    --in_flight;
  }

  HttpServerOptions options;
  std::shared_ptr<BufferPool> pool;
  std::unique_ptr<HttpApi> api;  // Null when Created with a handler.
  HttpHandler handler;
  // Declared before the threads: sessions still held by their handlers go with the threads.
  std::atomic<int> connections{0};
  std::atomic<size_t> unsent_bytes{0};
  std::vector<std::unique_ptr<IoThread>> io;
  size_t next_thread = 0;  // Where the next connection goes; the accept handler's only.
  tcp::acceptor acceptor;
  asio::steady_timer accept_timer;  // Accept's back-off (the first thread's).
  std::chrono::steady_clock::time_point last_accept_log;
  int accept_errors_unlogged = 0;
  std::chrono::milliseconds sweep_period{250};
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  int port = 0;
  bool stopped = false;
  int socket_buffer_size = 0;  // Applied to accepted sockets; 0: the kernel's autotuning.

  std::atomic<int64_t> last_large_ns{0};
  asio::steady_timer trim_timer;  // The first thread's.
  bool trim_pending = false;      // The first thread's.

  absl::Mutex mu;
  // Requests handed to the API whose response is not written yet.
  int in_flight ABSL_GUARDED_BY(mu) = 0;
};

namespace {

class Session : public TimedConnection, public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl* server)
      : socket_(std::move(socket)), server_(server), buffer_(kChunkLineLimit) {
    server_->connections.fetch_add(1, std::memory_order_relaxed);
  }
  ~Session() override { server_->connections.fetch_sub(1, std::memory_order_relaxed); }

  // On the connection's I/O thread.
  void Start() {
    buffer_.reserve(kReadSize);  // Beast reads at most the free capacity (at least 512 bytes).
    ReadHeader(/*first=*/true);
  }

  void CheckDeadline(int64_t now_ns) override {
    const int64_t deadline = deadline_ns_.load(std::memory_order_acquire);
    if (deadline == 0 || now_ns < deadline) return;
    // A responder on another thread may be starting a write on this socket: wait for it.
    absl::MutexLock lock(&write_mu_);
    if (deadline_ns_.load(std::memory_order_acquire) != deadline) return;  // Moved on meanwhile.
    deadline_ns_.store(0, std::memory_order_release);
    switch (phase_) {
      case Phase::kHeader:
      case Phase::kBody:
        // The pending read completes with operation_aborted; its handler answers 408.
        timed_out_ = true;
        {
          beast::error_code ec;
          socket_.cancel(ec);
        }
        break;
      case Phase::kIdle:
      case Phase::kSending:
        if (phase_ == Phase::kSending) {
          spdlog::debug(
              "{}: closing a connection whose client did not read its response within "
              "{} ms (--http-send-timeout-ms)",
              server_->options.name, server_->options.send_timeout_ms);
        }
        Close();
        break;
      case Phase::kHandling:
        break;
    }
  }

 private:
  enum class Phase { kIdle, kHeader, kBody, kHandling, kSending };

  // Sets the phase and its deadline (timeout_ms 0: none).
  void Enter(Phase phase, int timeout_ms) {
    phase_ = phase;
    deadline_ns_.store(timeout_ms > 0 ? NowNanos() + int64_t{timeout_ms} * 1'000'000 : 0,
                       std::memory_order_release);
  }

  void ReadHeader(bool first = false) {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    // The Content-Length check is ours (OnHeader, with a clear message); a chunked body gets
    // Beast's limit in ReadBody.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());  // (none misbehaves in 1.74)
    if (!first && buffer_.size() == 0) {
      // Keep-alive: wait for the next request's first bytes under the idle timeout; its header
      // timeout starts with them.
      Enter(Phase::kIdle, server_->options.idle_timeout_ms);
      socket_.async_read_some(
          buffer_.prepare(std::max<size_t>(512, buffer_.capacity() - buffer_.size())),
          [self = shared_from_this()](beast::error_code ec, size_t n) {
            if (ec) return self->Close();
            self->buffer_.commit(n);
            self->ReadHeaderNow();
          });
      return;
    }
    ReadHeaderNow();
  }

  void ReadHeaderNow() {
    Enter(Phase::kHeader, server_->options.header_timeout_ms);
    http::async_read_header(socket_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, size_t) {
    if (timed_out_) {
      return WriteError(408,
                        fmt::format("the request header did not arrive within {} ms "
                                    "(--http-header-timeout-ms)",
                                    server_->options.header_timeout_ms),
                        true);
    }
    if (ec) {
      if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
          ec == asio::error::connection_reset || ec == asio::error::eof ||
          ec == asio::error::bad_descriptor) {
        return Close();
      }
      return WriteError(400, fmt::format("malformed HTTP request: {}", ec.message()), true);
    }
    auto& header = parser_->get();
    const auto length = parser_->content_length();
    if (length && *length > server_->options.max_input_size) {
      return WriteError(
          413,
          fmt::format("request body of {} bytes exceeds the maximum of {} bytes "
                      "(--http-max-input-size)",
                      *length, server_->options.max_input_size),
          true);
    }
    AlignBodyForBinaryData(header);
    Enter(Phase::kBody, server_->options.body_timeout_ms);
    if (beast::iequals(header[http::field::expect], "100-continue")) {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_,
                                                                     header.version());
      http::async_write(socket_, *cont,
                        [self = shared_from_this(), cont](beast::error_code ec, size_t) {
                          if (self->timed_out_) return self->BodyTimedOut();
                          if (ec) return self->Close();
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void BodyTimedOut() {
    const auto expected = parser_->content_length();
    const size_t got = body_size_ > 0 ? body_read_ : parser_->get().body().size;
    WriteError(408,
               fmt::format("the request body did not arrive within {} ms (--http-body-timeout-ms): "
                           "got {}",
                           server_->options.body_timeout_ms,
                           expected ? fmt::format("{} of {} bytes", got, *expected)
                                    : fmt::format("{} bytes of the chunked body", got)),
               true);
  }

  void ReadBody() {
    const auto length = parser_->content_length();
    if (!length || parser_->chunked()) {
      // Chunked: Beast's parser decodes it into RequestBody, within the size limit.
      parser_->body_limit(server_->options.max_input_size);
      http::async_read(socket_, buffer_, *parser_,
                       beast::bind_front_handler(&Session::OnBody, shared_from_this()));
      return;
    }
    // Content-Length: read the body straight into one block (no pass through buffer_), placed
    // so that the binary part starts 64-byte aligned.
    const size_t size = static_cast<size_t>(*length);
    const size_t align_after = parser_->get().body().align_after;
    body_ = server_->pool->Get(size + 64);
    const auto base = reinterpret_cast<uintptr_t>(body_.get());
    body_data_ = body_.get() + (64 - (base + align_after) % 64) % 64;
    body_size_ = size;
    const size_t buffered = std::min(buffer_.size(), size);
    asio::buffer_copy(asio::buffer(body_data_, buffered), buffer_.data());
    buffer_.consume(buffered);
    body_read_ = buffered;
    if (buffered == size) return OnDirectBody({}, 0);
    asio::async_read(socket_, asio::buffer(body_data_ + buffered, size - buffered),
                     codec::ReadAllAvailable(size - buffered),
                     beast::bind_front_handler(&Session::OnDirectBody, shared_from_this()));
  }

  void OnDirectBody(beast::error_code ec, size_t n) {
    body_read_ += n;
    if (timed_out_) {
      body_.reset();
      return BodyTimedOut();
    }
    if (ec) {
      body_.reset();
      if (ec == asio::error::eof) {
        return WriteError(
            400,
            fmt::format("truncated request body: the connection ended after {} of {} bytes",
                        body_read_, body_size_),
            true);
      }
      return Close();
    }
    const auto& header = parser_->get();
    const size_t size = body_size_;
    body_size_ = 0;
    Dispatch(header, std::move(body_), body_data_, size);
  }

  void OnBody(beast::error_code ec, size_t) {
    if (timed_out_) return BodyTimedOut();
    if (ec == http::error::body_limit) {
      return WriteError(413,
                        fmt::format("request body exceeds the maximum of {} bytes "
                                    "(--http-max-input-size)",
                                    server_->options.max_input_size),
                        true);
    }
    if (ec == http::error::partial_message || ec == http::error::end_of_stream) {
      const auto expected = parser_->content_length();
      return WriteError(
          400,
          fmt::format("truncated request body: the connection ended after {} of {} bytes",
                      parser_->get().body().size,
                      expected ? std::to_string(*expected) : std::string("the chunked")),
          true);
    }
    if (ec && ec.category() == http::make_error_code(http::error::bad_chunk).category()) {
      return WriteError(400, ChunkedBodyError(ec), true);
    }
    if (ec) return Close();
    RequestBody::value_type& body = parser_->get().body();
    Dispatch(parser_->get(), std::move(body.storage), body.data, body.size);
  }

  template <class Header>
  void Dispatch(const Header& header, std::shared_ptr<const void> owner, const std::byte* data,
                size_t size) {
    Enter(Phase::kHandling, 0);
    keep_alive_ = header.keep_alive();
    version_ = header.version();
    request_bytes_ = size;
    HttpRequest request = MakeHttpRequest(header, std::move(owner), data, size);
    server_->RequestStarted();
    // The responder runs on this connection's I/O thread (errors, other endpoints, inference
    // run inline) or on a model instance's thread. Either way nothing else touches this
    // connection until the response is written (no read is pending, and the sweeper leaves a
    // connection in kHandling alone), so the write starts right there: its first send happens on
    // the calling thread, and its completion comes back on the connection's I/O thread.
    server_->handler(std::move(request), [self = shared_from_this()](HttpResponse response) {
      self->Write(std::move(response), /*close=*/false, /*counted=*/true);
    });
  }

  void WriteError(int status, std::string message, bool close) {
    Write(HttpApi::ErrorResponse(status, message), close, /*counted=*/false);
  }

  static size_t ResponseBytes(const HttpResponse& r) {
    size_t n = r.json.size();
    for (const auto& chunk : r.binary) n += chunk.size();
    return n;
  }

  void Write(HttpResponse r, bool close, bool counted) {
    // Responses waiting for slow readers are bounded server-wide: past the bound, this one is
    // dropped (its buffers freed now) and the client gets a 503.
    size_t bytes = ResponseBytes(r);
    if (!server_->ReserveUnsent(bytes)) {
      const size_t dropped = bytes;
      r = HttpApi::ErrorResponse(
          503, fmt::format("inferd holds {} bytes of responses that their clients have not read "
                           "yet (--http-max-unsent-bytes {}); this {}-byte response was dropped, "
                           "retry later",
                           server_->unsent_bytes.load(), server_->options.max_unsent_bytes,
                           dropped));
      bytes = ResponseBytes(r);
      server_->unsent_bytes.fetch_add(bytes, std::memory_order_relaxed);
    }
    const bool large =
        bytes >= kLargeMessageBytes || request_bytes_ >= kLargeMessageBytes || r.status == 413;
    request_bytes_ = 0;
    if (!keep_alive_) close = true;
    absl::MutexLock lock(&write_mu_);
    response_.emplace(static_cast<http::status>(r.status), version_);
    auto& res = *response_;
    if (!r.content_type.empty()) res.set(http::field::content_type, r.content_type);
    if (r.inference_header_length) {
      res.set(kHeaderLengthField, std::to_string(*r.inference_header_length));
    }
    if (!r.allow.empty()) res.set(http::field::allow, r.allow);
    if (!r.content_encoding.empty()) res.set(http::field::content_encoding, r.content_encoding);
    res.body().head = std::move(r.json);
    res.body().tail.reserve(r.binary.size());
    for (const auto& chunk : r.binary) res.body().tail.emplace_back(chunk.data(), chunk.size());
    res.body().owner = std::move(r.binary_owner);
    res.keep_alive(!close);
    res.prepare_payload();
    Enter(Phase::kSending, server_->options.send_timeout_ms);
    http::async_write(
        socket_, res,
        [self = shared_from_this(), close, counted, bytes, large](beast::error_code ec, size_t) {
          self->response_.reset();
          self->server_->unsent_bytes.fetch_sub(bytes, std::memory_order_relaxed);
          if (counted) self->server_->RequestFinished();
          if (large) self->server_->LargeMessageDone();
          if (ec) return self->Close();
          if (close) return self->LingeringClose();
          self->ReadHeader();
        });
  }

  // After an error that left request bytes unread: stop sending, then discard what the client
  // still sends for a moment before closing, so that it reads our response rather than a reset.
  void LingeringClose() {
    Enter(Phase::kHandling, 0);  // The linger timer bounds it.
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    linger_timer_.emplace(socket_.get_executor());
    linger_timer_->expires_after(std::chrono::seconds(2));
    linger_timer_->async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->Close();
    });
    Drain();
  }

  void Drain() {
    drain_.resize(65536);
    socket_.async_read_some(asio::buffer(drain_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) {
                                if (self->linger_timer_) self->linger_timer_->cancel();
                                return self->Close();
                              }
                              self->Drain();
                            });
  }

  void Close() {
    Enter(Phase::kHandling, 0);
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

  tcp::socket socket_;
  HttpServer::Impl* server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<RequestBody>> parser_;
  std::optional<http::response<GatherBody>> response_;
  std::shared_ptr<std::byte> body_;  // The body being read on the Content-Length path.
  std::byte* body_data_ = nullptr;
  size_t body_size_ = 0;  // Of the body being read on the Content-Length path; 0 otherwise.
  size_t body_read_ = 0;
  size_t request_bytes_ = 0;  // Of the request being answered.
  std::optional<asio::steady_timer> linger_timer_;
  std::vector<char> drain_;
  bool keep_alive_ = true;
  unsigned version_ = 11;
  // The deadline of the current phase for the sweeper (0: none); the phase and timed_out_ are
  // the I/O thread's, except that a responder on another thread enters kSending under write_mu_.
  std::atomic<int64_t> deadline_ns_{0};
  Phase phase_ = Phase::kHeader;
  bool timed_out_ = false;  // A read deadline passed: the read's handler answers 408.
  absl::Mutex write_mu_;    // Held while a write starts, and by the sweeper.
};

}  // namespace

void HttpServer::Impl::Accept() {
  IoThread& target = *io[next_thread];
  next_thread = (next_thread + 1) % io.size();
  acceptor.async_accept(target.context, [this, &target](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      return OnAcceptError(ec);
    }
    if (connections.load(std::memory_order_relaxed) >= options.max_connections) {
      Refuse(std::move(socket));
      return Accept();
    }
    socket.set_option(tcp::no_delay(true), ec);
    if (socket_buffer_size > 0) {
      socket.set_option(asio::socket_base::receive_buffer_size(socket_buffer_size), ec);
      socket.set_option(asio::socket_base::send_buffer_size(socket_buffer_size), ec);
    }
    auto session = std::make_shared<Session>(std::move(socket), this);
    asio::post(target.context, [&target, session] {
      target.connections.push_back(session);
      session->Start();
    });
    Accept();
  });
}

void HttpServer::Impl::OnAcceptError(const beast::error_code& ec) {
  // Out of file descriptors (or memory): the pending connection stays in the backlog, so
  // accepting again at once fails again at once. Pause, and log once a second, not per try.
  const bool resources = ec == asio::error::no_descriptors ||
                         ec == boost::system::errc::too_many_files_open_in_system ||
                         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_accept_log >= std::chrono::seconds(1)) {
    spdlog::warn("{} accept failed: {}{}{}", options.name, ec.message(),
                 resources ? fmt::format("; pausing accepts for {} ms, existing connections are "
                                         "still served",
                                         kAcceptBackoff.count())
                           : std::string(),
                 accept_errors_unlogged > 0
                     ? fmt::format(" ({} more failures in the last second)", accept_errors_unlogged)
                     : std::string());
    last_accept_log = now;
    accept_errors_unlogged = 0;
  } else {
    ++accept_errors_unlogged;
  }
  if (!resources) return Accept();
  accept_timer.expires_after(kAcceptBackoff);
  accept_timer.async_wait([this](beast::error_code ec) {
    if (ec || !acceptor.is_open()) return;
    Accept();
  });
}

void HttpServer::Impl::Refuse(tcp::socket socket) {
  // A fresh socket's send buffer is empty: this small write does not block.
  const std::string body = codec::EncodeError(
      fmt::format("inferd already has {} open {} connections (--http-max-connections); retry later",
                  options.max_connections, options.name));
  const std::string response = fmt::format(
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
      "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
      body.size(), body);
  beast::error_code ec;
  socket.non_blocking(true, ec);
  socket.write_some(asio::buffer(response), ec);
  socket.shutdown(tcp::socket::shutdown_send, ec);
  socket.close(ec);
}

void HttpServer::Impl::Sweep(IoThread* thread) {
  const int64_t now = NowNanos();
  auto& list = thread->connections;
  for (size_t i = 0; i < list.size();) {
    if (auto connection = list[i].lock()) {
      connection->CheckDeadline(now);
      ++i;
    } else {
      list[i] = std::move(list.back());
      list.pop_back();
    }
  }
  thread->sweeper.expires_after(sweep_period);
  thread->sweeper.async_wait([this, thread](beast::error_code ec) {
    if (!ec) Sweep(thread);
  });
}

void HttpServer::Impl::LargeMessageDone() {
  last_large_ns.store(NowNanos(), std::memory_order_relaxed);
  asio::post(io.front()->context, [this] {
    if (trim_pending) return;
    trim_pending = true;
    trim_timer.expires_after(kTrimDelay);
    trim_timer.async_wait([this](beast::error_code ec) {
      trim_pending = false;
      if (!ec) Trim();
    });
  });
}

void HttpServer::Impl::Trim() {
  const auto quiet = std::chrono::nanoseconds(NowNanos() - last_large_ns.load());
  if (quiet < kTrimDelay) {
    // Another large message came meanwhile: wait until none has come for kTrimDelay.
    trim_pending = true;
    trim_timer.expires_after(kTrimDelay - quiet);
    trim_timer.async_wait([this](beast::error_code ec) {
      trim_pending = false;
      if (!ec) Trim();
    });
    return;
  }
  pool->ReleaseCachedBlocks();
  malloc_trim(0);
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(); }

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(InferenceServer* server,
                                                               const HttpServerOptions& options) {
  return Start(std::make_unique<Impl>(options, nullptr, server));
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(HttpHandler handler,
                                                               const HttpServerOptions& options) {
  return Start(std::make_unique<Impl>(options, std::move(handler), nullptr));
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(std::unique_ptr<Impl> impl) {
  const HttpServerOptions& options = impl->options;
  if (options.thread_count < 0) {
    return absl::InvalidArgumentError(fmt::format(
        "--http-thread-count must be 0 (one per CPU) or more, got {}", options.thread_count));
  }
  if (options.max_connections <= 0) {
    return absl::InvalidArgumentError(
        fmt::format("--http-max-connections must be positive, got {}", options.max_connections));
  }
  beast::error_code ec;
  tcp::resolver resolver(impl->io.front()->context);
  auto endpoints = resolver.resolve(options.address, std::to_string(options.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) {
    return absl::InvalidArgumentError(fmt::format("cannot resolve {} address '{}': {}",
                                                  options.name, options.address, ec.message()));
  }
  const tcp::endpoint endpoint = endpoints.begin()->endpoint();
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(fmt::format("cannot listen for {} on {}:{}: {}", options.name,
                                              options.address, options.port, ec.message()));
  }
  impl->port = impl->acceptor.local_endpoint().port();
  if (options.socket_buffer_size > 0) {
    // A buffer above the kernel's maximum would be cut to it, and a fixed small buffer is worse
    // than autotuning: set it only where the kernel allows the full size.
    const int64_t rmem_max = ReadSysctl("/proc/sys/net/core/rmem_max");
    const int64_t wmem_max = ReadSysctl("/proc/sys/net/core/wmem_max");
    const auto wanted = static_cast<int64_t>(options.socket_buffer_size);
    if (rmem_max >= wanted && wmem_max >= wanted && wanted <= (int64_t{1} << 30)) {
      impl->socket_buffer_size = static_cast<int>(wanted);
    } else {
      spdlog::info(
          "{} socket buffers left to the kernel's autotuning: --http-socket-buffer-size "
          "{} exceeds net.core.rmem_max {} or wmem_max {}",
          options.name, wanted, rmem_max, wmem_max);
    }
  }
  impl->Accept();
  for (auto& thread : impl->io) {
    impl->work.push_back(asio::make_work_guard(thread->context));
    asio::post(thread->context, [i = impl.get(), t = thread.get()] { i->Sweep(t); });
    impl->threads.emplace_back([t = thread.get()] {
      pthread_setname_np(pthread_self(), "inferd-http");
      // The last line of defence (HttpApi::Handle answers 500 for what a request throws): an
      // exception escaping a handler costs that connection, not the process; run() goes on.
      for (;;) {
        absl::Status status = CallCatchingExceptions("serving HTTP", [&] { t->context.run(); });
        if (status.ok()) break;
        spdlog::error("{}", std::string(status.message()));
      }
    });
  }
  spdlog::info("{} server listening on {}:{}", options.name, options.address, impl->port);
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

int HttpServer::port() const { return impl_->port; }

void HttpServer::StopAccepting() {
  if (!impl_ || impl_->stopped) return;
  // The acceptor belongs to the first I/O thread: close it there, and wait until it is closed.
  std::promise<void> closed;
  asio::post(impl_->io.front()->context, [impl = impl_.get(), &closed] {
    beast::error_code ec;
    impl->acceptor.close(ec);
    impl->accept_timer.cancel();
    closed.set_value();
  });
  closed.get_future().wait();
}

void HttpServer::Stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  asio::post(impl_->io.front()->context, [impl = impl_.get()] {
    beast::error_code ec;
    impl->acceptor.close(ec);
    impl->accept_timer.cancel();
  });
  {
    // Responses of accepted requests still get written (the I/O threads run meanwhile), for at
    // most the drain deadline: a client that does not read must not hold the exit up.
    absl::MutexLock lock(&impl_->mu);
    auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(impl_->mu) {
      return impl_->in_flight == 0;
    };
    if (!impl_->mu.AwaitWithTimeout(absl::Condition(&idle),
                                    absl::Milliseconds(impl_->options.drain_timeout_ms))) {
      spdlog::warn(
          "{} server stopping with {} responses unwritten after {} ms "
          "(--http-drain-timeout-ms)",
          impl_->options.name, impl_->in_flight, impl_->options.drain_timeout_ms);
    }
  }
  impl_->work.clear();
  for (auto& thread : impl_->io) thread->context.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

}  // namespace inferd
