// SPDX-License-Identifier: Apache-2.0
#include "transport/http/http_server.h"

#include <pthread.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <cstdint>
#include <fstream>
#include <limits>
#include <optional>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "core/exception_boundary.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"
#include "transport/http/beast_bodies.h"
#include "transport/http/beast_request.h"
#include "codec/buffer_pool.h"
#include "codec/gather_body.h"
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


// A number from a /proc/sys file; -1 when it cannot be read.
static int64_t ReadSysctl(const char* path) {
  std::ifstream in(path);
  int64_t value = -1;
  if (!(in >> value)) return -1;
  return value;
}

// One io_context per I/O thread, each run by its thread alone (no hand-off between I/O threads: a
// connection lives on one thread, which reads, runs a short model inline, and writes; asio keeps
// its locks, since responses of models that ran on instance threads are posted from those
// threads). The acceptor hands new connections out round robin.
struct HttpServer::Impl {
  Impl(InferenceServer* server, const HttpServerOptions& options)
      : options(options),
        pool(BufferPool::Create(options.buffer_cache_bytes)),
        api(server, pool->output_allocator(), options.shm_registry, options.max_input_size),
        contexts(MakeContexts(options.thread_count)),
        acceptor(*contexts.front()) {}

  static std::vector<std::unique_ptr<asio::io_context>> MakeContexts(int count) {
    std::vector<std::unique_ptr<asio::io_context>> out;
    for (int i = 0; i < std::max(1, count); ++i) {
      out.push_back(std::make_unique<asio::io_context>(1));
    }
    return out;
  }

  void Accept();
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
  HttpApi api;
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  size_t next_context = 0;  // Where the next connection goes; the accept handler's only.
  tcp::acceptor acceptor;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  int port = 0;
  bool stopped = false;
  int socket_buffer_size = 0;  // Applied to accepted sockets; 0: the kernel's autotuning.

  absl::Mutex mu;
  // Requests handed to the API whose response is not written yet.
  int in_flight ABSL_GUARDED_BY(mu) = 0;
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl* server)
      : socket_(std::move(socket)), server_(server) {}

  void Start() {
    buffer_.reserve(kReadSize);  // Beast reads at most the free capacity (at least 512 bytes).
    ReadHeader();
  }

 private:
  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    // The Content-Length check is ours (OnHeader, with a clear message); a chunked body gets
    // Beast's limit in ReadBody.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());  // (none misbehaves in 1.74)
    http::async_read_header(socket_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, size_t) {
    if (ec) {
      if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
          ec == asio::error::connection_reset || ec == asio::error::eof) {
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
    if (beast::iequals(header[http::field::expect], "100-continue")) {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_,
                                                                     header.version());
      http::async_write(socket_, *cont,
                        [self = shared_from_this(), cont](beast::error_code ec, size_t) {
                          if (ec) return self->Close();
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
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
    if (buffered == size) return OnDirectBody({}, 0);
    body_read_ = buffered;
    asio::async_read(socket_, asio::buffer(body_data_ + buffered, size - buffered),
                     codec::ReadAllAvailable(size - buffered),
                     beast::bind_front_handler(&Session::OnDirectBody, shared_from_this()));
  }

  void OnDirectBody(beast::error_code ec, size_t n) {
    if (ec) {
      if (ec == asio::error::eof) {
        return WriteError(
            400,
            fmt::format("truncated request body: the connection ended after {} of {} bytes",
                        body_read_ + n, body_size_),
            true);
      }
      return Close();
    }
    const auto& header = parser_->get();
    Dispatch(header, std::move(body_), body_data_, body_size_);
  }

  void OnBody(beast::error_code ec, size_t) {
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
    if (ec) return Close();
    RequestBody::value_type& body = parser_->get().body();
    Dispatch(parser_->get(), std::move(body.storage), body.data, body.size);
  }

  template <class Header>
  void Dispatch(const Header& header, std::shared_ptr<const void> owner, const std::byte* data,
                size_t size) {
    keep_alive_ = header.keep_alive();
    version_ = header.version();
    HttpRequest request = MakeHttpRequest(header, std::move(owner), data, size);
    server_->RequestStarted();
    // The responder runs on this connection's I/O thread (errors, other endpoints, inference
    // run inline) or on a model instance's thread. Either way nothing else touches this
    // connection until the response is written (no read is pending, no timer runs), so the write
    // starts right there: its first send happens on the calling thread, and its completion comes
    // back on the connection's I/O thread.
    server_->api.Handle(std::move(request), [self = shared_from_this()](HttpResponse response) {
      self->Write(std::move(response), /*close=*/false, /*counted=*/true);
    });
  }

  void WriteError(int status, std::string message, bool close) {
    Write(HttpApi::ErrorResponse(status, message), close, /*counted=*/false);
  }

  void Write(HttpResponse r, bool close, bool counted) {
    if (!keep_alive_) close = true;
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
    http::async_write(socket_, res,
                      [self = shared_from_this(), close, counted](beast::error_code ec, size_t) {
                        self->response_.reset();
                        if (counted) self->server_->RequestFinished();
                        if (ec) return self->Close();
                        if (close) return self->LingeringClose();
                        self->ReadHeader();
                      });
  }

  // After an error that left request bytes unread: stop sending, then discard what the client
  // still sends for a moment before closing, so that it reads our response rather than a reset.
  void LingeringClose() {
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
  size_t body_size_ = 0;
  size_t body_read_ = 0;
  std::optional<asio::steady_timer> linger_timer_;
  std::vector<char> drain_;
  bool keep_alive_ = true;
  unsigned version_ = 11;
};

}  // namespace

void HttpServer::Impl::Accept() {
  asio::io_context& target = *contexts[next_context];
  next_context = (next_context + 1) % contexts.size();
  acceptor.async_accept(target, [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      spdlog::warn("HTTP accept failed: {}", ec.message());
    } else {
      socket.set_option(tcp::no_delay(true), ec);
      if (socket_buffer_size > 0) {
        socket.set_option(asio::socket_base::receive_buffer_size(socket_buffer_size), ec);
        socket.set_option(asio::socket_base::send_buffer_size(socket_buffer_size), ec);
      }
      std::make_shared<Session>(std::move(socket), this)->Start();
    }
    Accept();
  });
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(); }

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(InferenceServer* server,
                                                               const HttpServerOptions& options) {
  auto impl = std::make_unique<Impl>(server, options);
  beast::error_code ec;
  tcp::resolver resolver(*impl->contexts.front());
  auto endpoints = resolver.resolve(options.address, std::to_string(options.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("cannot resolve HTTP address '{}': {}", options.address, ec.message()));
  }
  const tcp::endpoint endpoint = endpoints.begin()->endpoint();
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(fmt::format("cannot listen for HTTP on {}:{}: {}",
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
      spdlog::info("HTTP socket buffers left to the kernel's autotuning: --http-socket-buffer-size "
                   "{} exceeds net.core.rmem_max {} or wmem_max {}",
                   wanted, rmem_max, wmem_max);
    }
  }
  impl->Accept();
  for (auto& context : impl->contexts) {
    impl->work.push_back(asio::make_work_guard(*context));
    impl->threads.emplace_back([ioc = context.get()] {
      pthread_setname_np(pthread_self(), "inferd-http");
      // The last line of defence (HttpApi::Handle answers 500 for what a request throws): an
      // exception escaping a handler costs that connection, not the process; run() goes on.
      for (;;) {
        absl::Status status = CallCatchingExceptions("serving HTTP", [&] { ioc->run(); });
        if (status.ok()) break;
        spdlog::error("{}", std::string(status.message()));
      }
    });
  }
  spdlog::info("HTTP server listening on {}:{}", options.address, impl->port);
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

int HttpServer::port() const { return impl_->port; }

void HttpServer::Stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  asio::post(*impl_->contexts.front(), [impl = impl_.get()] {
    beast::error_code ec;
    impl->acceptor.close(ec);
  });
  {
    // Responses of accepted requests still get written (the I/O threads run meanwhile).
    absl::MutexLock lock(&impl_->mu);
    auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(impl_->mu) {
      return impl_->in_flight == 0;
    };
    if (!impl_->mu.AwaitWithTimeout(absl::Condition(&idle), absl::Seconds(30))) {
      spdlog::warn("HTTP server stopping with {} responses unwritten", impl_->in_flight);
    }
  }
  impl_->work.clear();
  for (auto& context : impl_->contexts) context->stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

}  // namespace inferd
