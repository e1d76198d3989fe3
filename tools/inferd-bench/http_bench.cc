// SPDX-License-Identifier: Apache-2.0
#include "http_bench.h"


#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "child_process.h"
#include "fmt/format.h"
#include "inferd/client.h"


namespace inferd::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr size_t kLargeBytes = 602112;  // ResNet50's 1x3x224x224 FP32 input.
constexpr size_t kSmallBytes = 16;

// A completion condition letting each read take all the socket has (asio's transfer_all stops
// each read at 64 KiB); inferd's server and client read bodies this way too.
auto ReadAllAvailable(size_t total) {
  return [total](const beast::error_code& ec, size_t done) -> size_t {
    return ec ? 0 : total - done;
  };
}

// The Content-Length of a parsed header (0 when absent). Read from the field rather than through
// parser.content_length(), whose boost::optional trips GCC's -Wmaybe-uninitialized under ASan.
template <class Parser>
size_t ContentLength(const Parser& parser) {
  const auto field = parser.get()[http::field::content_length];
  size_t length = 0;
  std::from_chars(field.data(), field.data() + field.size(), length);
  return length;
}

// Reads the body of a message whose header `parser` has read straight into `body` (reused, so no
// allocation per request): what is already buffered, then the rest from the socket.
template <class Stream, class Parser, class Handler>
void AsyncReadBody(Stream& socket, beast::flat_buffer& buffer, Parser& parser,
                   std::vector<char>& body, Handler&& handler) {
  const size_t length = ContentLength(parser);
  body.resize(length);
  const size_t buffered = std::min(buffer.size(), length);
  asio::buffer_copy(asio::buffer(body.data(), buffered), buffer.data());
  buffer.consume(buffered);
  asio::async_read(socket, asio::buffer(body.data() + buffered, length - buffered),
                   ReadAllAvailable(length - buffered), std::forward<Handler>(handler));
}

// The baseline server: Beast, asynchronous, keep-alive, TCP_NODELAY, one I/O thread; answers
// every request with its own body. It runs in its own process (`inferd-bench http-echo-server`),
// as inferd does, so both sides pay for the same process boundary. It moves bytes the way inferd's server does (64 KiB reads, the body read straight
// into a reused buffer, the response written from it with no copy), so the ratio measures what
// inferd adds on top of the transport: JSON, the model's queue and thread, the identity copy.
class EchoServer {
 public:
  EchoServer() : acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    Accept();
  }
  int port() const { return acceptor_.local_endpoint().port(); }
  void Run() { ioc_.run(); }

 private:
  struct Session : std::enable_shared_from_this<Session> {
    explicit Session(tcp::socket s) : socket(std::move(s)) { buffer.reserve(65536); }
    void Read() {
      parser.emplace();
      parser->body_limit(std::numeric_limits<std::uint64_t>::max());
      http::async_read_header(socket, buffer, *parser, [self = shared_from_this()](auto ec, size_t) {
        if (ec) return;
        AsyncReadBody(self->socket, self->buffer, *self->parser, self->body,
                      [self](beast::error_code ec, size_t) {
                        if (ec) return;
                        self->Write();
                      });
      });
    }
    void Write() {
      response.emplace(http::status::ok, parser->get().version());
      response->set(http::field::content_type, "application/octet-stream");
      response->body() = http::span_body<char>::value_type(body.data(), body.size());
      response->keep_alive(parser->get().keep_alive());
      response->prepare_payload();
      http::async_write(socket, *response, [self = shared_from_this()](auto ec, size_t) {
        if (!ec) self->Read();
      });
    }
    tcp::socket socket;
    beast::flat_buffer buffer;
    std::optional<http::request_parser<http::empty_body>> parser;
    std::optional<http::response<http::span_body<char>>> response;
    std::vector<char> body;
  };

  void Accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;
      socket.set_option(tcp::no_delay(true));
      std::make_shared<Session>(std::move(socket))->Read();
      Accept();
    });
  }

  asio::io_context ioc_{1};
  tcp::acceptor acceptor_;
};

// The baseline client: one synchronous Beast connection; the request is written from the
// caller's bytes and the response body read into a reused buffer.
class EchoClient {
 public:
  explicit EchoClient(int port) : socket_(ioc_) {
    socket_.connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)));
    socket_.set_option(tcp::no_delay(true));
    buffer_.reserve(65536);
  }
  // Posts `payload` to `target`; with `header_length` it is a binary-extension infer request
  // whose JSON header is the first `header_length` bytes. Succeeds on 200 with the payload echoed,
  // or with more than `expected_size` bytes when that is given.
  bool RoundTrip(const std::string& payload, const char* target = "/echo",
                 size_t header_length = 0, size_t expected_size = 0) {
    http::request<http::span_body<const char>> req{http::verb::post, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::content_type, "application/octet-stream");
    if (header_length > 0) {
      req.set("Inference-Header-Content-Length", std::to_string(header_length));
    }
    req.body() = http::span_body<const char>::value_type(payload.data(), payload.size());
    req.prepare_payload();
    http::write(socket_, req);
    http::response_parser<http::empty_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    http::read_header(socket_, buffer_, parser);
    const size_t length = ContentLength(parser);
    body_.resize(length);
    const size_t buffered = std::min(buffer_.size(), length);
    asio::buffer_copy(asio::buffer(body_.data(), buffered), buffer_.data());
    buffer_.consume(buffered);
    asio::read(socket_, asio::buffer(body_.data() + buffered, length - buffered),
               ReadAllAvailable(length - buffered));
    if (parser.get().result_int() != 200) return false;
    return expected_size ? body_.size() > expected_size : body_.size() == payload.size();
  }

 private:
  asio::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
  std::vector<char> body_;
};

InferRequest IdentityRequest(const std::vector<float>& values) {
  InferRequest request;
  request.model_name = "identity";
  InferInput in;
  in.name = "INPUT0";
  in.datatype = DataType::kFp32;
  in.shape = {static_cast<int64_t>(values.size())};
  in.data = reinterpret_cast<const std::byte*>(values.data());  // A view: no copy.
  in.byte_size = values.size() * sizeof(float);
  request.inputs.push_back(std::move(in));
  return request;
}

// The JSON header of a binary-extension identity request: FP32 [elements], `bytes` after it, the
// output asked for in binary.
std::string IdentityBinaryHeader(size_t elements, size_t bytes) {
  return fmt::format(
      R"({{"parameters":{{"binary_data_output":true}},"inputs":[{{"name":"INPUT0","datatype":"FP32",)"
      R"("shape":[{}],"parameters":{{"binary_data_size":{}}}}}]}})",
      elements, bytes);
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

struct Samples {
  std::vector<double> inferd_us;  // inferd through our http:// client.
  std::vector<double> raw_us;     // inferd through the bare Beast client.
  std::vector<double> echo_us;    // The bare Beast client and echo server.
};

template <typename F>
double TimeUs(F&& f, bool* ok) {
  const auto t0 = Clock::now();
  *ok = f();
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

bool MeasureRoundTrips(Client& client, EchoClient& raw, EchoClient& echo, size_t bytes,
                       int rounds, int per_round, Samples& out) {
  std::vector<float> values(bytes / sizeof(float));
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i % 1000) * 0.5f;
  const std::string payload(reinterpret_cast<const char*>(values.data()), bytes);
  // Check once that inferd returns the bytes it was sent.
  auto check = client.Infer(IdentityRequest(values));
  if (!check.ok() || check->outputs.size() != 1 || check->outputs[0].byte_size != bytes ||
      std::memcmp(check->outputs[0].data, values.data(), bytes) != 0) {
    std::fprintf(stderr, "identity did not echo its input: %s\n",
                 check.ok() ? "wrong bytes" : std::string(check.status().message()).c_str());
    return false;
  }
  // The same request for the bare client: the JSON header our client sends, then the bytes.
  const std::string header = IdentityBinaryHeader(values.size(), bytes);
  const std::string raw_body = header + payload;
  bool ok = true;
  auto infer = [&] { return client.Infer(IdentityRequest(values)).ok(); };
  auto raw_infer = [&] {
    // The response: its JSON header, then the output's bytes.
    return raw.RoundTrip(raw_body, "/v2/models/identity/infer", header.size(), bytes);
  };
  auto echo_once = [&] { return echo.RoundTrip(payload); };
  for (int i = 0; i < per_round; ++i) {  // Warm-up.
    infer();
    raw_infer();
    echo_once();
  }
  for (int r = 0; r < rounds; ++r) {
    for (int i = 0; i < per_round && ok; ++i) out.inferd_us.push_back(TimeUs(infer, &ok));
    for (int i = 0; i < per_round && ok; ++i) out.raw_us.push_back(TimeUs(raw_infer, &ok));
    for (int i = 0; i < per_round && ok; ++i) out.echo_us.push_back(TimeUs(echo_once, &ok));
  }
  if (!ok) std::fprintf(stderr, "a round trip failed\n");
  return ok;
}

void PrintRoundTrips(const char* label, const Samples& s, double goal) {
  const double inferd = Percentile(s.inferd_us, 0.5);
  const double echo = Percentile(s.echo_us, 0.5);
  const double ratio = inferd / echo;
  std::printf("%s\n", label);
  std::printf("  inferd identity (http://, binary):  median %9.1f us   p90 %9.1f us   (%zu)\n",
              inferd, Percentile(s.inferd_us, 0.9), s.inferd_us.size());
  std::printf("  bare Beast echo:                    median %9.1f us   p90 %9.1f us   (%zu)\n",
              echo, Percentile(s.echo_us, 0.9), s.echo_us.size());
  const double raw = Percentile(s.raw_us, 0.5);
  std::printf("  inferd identity, bare Beast client: median %9.1f us   p90 %9.1f us   ratio %.3f\n",
              raw, Percentile(s.raw_us, 0.9), raw / echo);
  std::printf("  ratio inferd / echo:                %.3f   goal <= %.2f: %s\n", ratio, goal,
              ratio <= goal ? "met" : "NOT met");
}

// Requests per second through Client::InferAsync with `concurrency` requests in flight.
double InferdThroughput(Client& client, int concurrency, int total) {
  std::vector<float> values(kSmallBytes / sizeof(float), 1.0f);
  std::mutex mu;
  std::condition_variable cv;
  int issued = 0;
  int completed = 0;
  int failed = 0;
  std::function<void()> issue;
  issue = [&] {
    client.InferAsync(IdentityRequest(values), [&](absl::StatusOr<InferResponse> r) {
      bool more = false;
      {
        std::lock_guard<std::mutex> lock(mu);
        ++completed;
        if (!r.ok()) ++failed;
        if (issued < total) {
          ++issued;
          more = true;
        }
      }
      cv.notify_all();
      if (more) issue();
    });
  };
  const auto t0 = Clock::now();
  {
    std::lock_guard<std::mutex> lock(mu);
    issued = std::min(concurrency, total);
  }
  for (int i = 0; i < std::min(concurrency, total); ++i) issue();
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return completed == total; });
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (failed > 0) std::fprintf(stderr, "%d inferd requests failed\n", failed);
  return failed > 0 ? 0.0 : total / seconds;
}



// The load generator for the in-flight levels, the same for inferd and the echo so that the ratio
// is the servers' alone: `connections` keep-alive connections driven by one asio thread, each
// sending the same prebuilt HTTP/1.1 request and, when its whole response has arrived, the next
// (a closed loop: `connections` requests in flight). One thread on its own CPU does not become the
// limit: parsing a response costs it a few microseconds.
class ClosedLoopLoad {
 public:
  // Runs until `total` responses have arrived; returns requests per second (0 when a response
  // was not a 200 or a connection failed).
  static double Run(int port, const std::string& request, int connections, int total) {
    ClosedLoopLoad load(request, total);
    const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port));
    for (int i = 0; i < connections; ++i) {
      auto conn = std::make_shared<Connection>(load.ioc_);
      beast::error_code ec;
      conn->socket.connect(endpoint, ec);
      if (ec) return 0;
      conn->socket.set_option(tcp::no_delay(true));
      load.connections_.push_back(std::move(conn));
    }
    const auto t0 = Clock::now();
    for (auto& conn : load.connections_) load.Send(conn.get());
    load.ioc_.run();
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return load.failed_ ? 0.0 : load.completed_ / seconds;
  }

 private:
  struct Connection {
    explicit Connection(asio::io_context& ioc) : socket(ioc) { buffer.reserve(4096); }
    tcp::socket socket;
    beast::flat_buffer buffer;
    std::optional<http::response_parser<http::string_body>> parser;
  };

  ClosedLoopLoad(const std::string& request, int total) : request_(request), total_(total) {}

  void Send(Connection* conn) {
    if (issued_ >= total_ || failed_) return;
    ++issued_;
    asio::async_write(conn->socket, asio::buffer(request_), [this, conn](beast::error_code ec,
                                                                        size_t) {
      if (ec) return Fail();
      conn->parser.emplace();
      http::async_read(conn->socket, conn->buffer, *conn->parser,
                       [this, conn](beast::error_code ec, size_t) {
                         if (ec || conn->parser->get().result_int() != 200) return Fail();
                         ++completed_;
                         Send(conn);
                       });
    });
  }
  void Fail() {
    failed_ = true;
    ioc_.stop();
  }

  asio::io_context ioc_{1};
  const std::string& request_;
  const int total_;
  int issued_ = 0;
  int completed_ = 0;
  bool failed_ = false;
  std::vector<std::shared_ptr<Connection>> connections_;
};

// A whole HTTP/1.1 POST of `body` to `target` (keep-alive), with the binary extension's header
// length when `header_length` is given.
std::string HttpPost(const std::string& target, const std::string& body, size_t header_length) {
  std::string request = fmt::format(
      "POST {} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
      "Content-Length: {}\r\n",
      target, body.size());
  if (header_length > 0) {
    request += fmt::format("Inference-Header-Content-Length: {}\r\n", header_length);
  }
  return request + "\r\n" + body;
}

// One in-flight level against one server: a warm-up, then the measured run.
LoadLevelCost MeasureLevel(const ChildProcess& server, int port, const std::string& request,
                           int in_flight, int total) {
  ClosedLoopLoad::Run(port, request, in_flight, std::max(1, total / 10));  // Warm-up.
  return MeasureLoadLevel(server, total,
                          [&] { return ClosedLoopLoad::Run(port, request, in_flight, total); });
}

}  // namespace

int RunHttpEchoServer() {
  EchoServer server;
  std::printf("ECHO server listening on 127.0.0.1:%d\n", server.port());
  std::fflush(stdout);
  server.Run();  // Until SIGTERM ends the process.
  return 0;
}

int RunHttpBench(const HttpBenchOptions& options) {
  std::vector<std::string> args = {options.inferd_path,
                                   "--model-repository=" + options.model_repository,
                                   "--http-port=0", "--http-address=127.0.0.1",
                                   "--allow-grpc=false", "--allow-metrics=false"};
  args.insert(args.end(), options.inferd_args.begin(), options.inferd_args.end());
  std::optional<ChildProcess> inferd, echo_server;
  const bool pinned = StartServersPinned(options.pin, [&] {
    inferd.emplace(args);
    echo_server.emplace(std::vector<std::string>{options.self_path, "http-echo-server"});
  });
  const int inferd_port =
      inferd->WaitForOutput("inferd ready") ? inferd->WaitForPort("HTTP server listening on ") : 0;
  const int echo_port = echo_server->WaitForPort("ECHO server listening on ");
  if (inferd_port == 0 || echo_port == 0) {
    std::fprintf(stderr, "a server did not start:\n%s\n%s\n", inferd->output().c_str(),
                 echo_server->output().c_str());
    return 1;
  }
  auto client = Client::Create(fmt::format("http://127.0.0.1:{}", inferd_port));
  if (!client.ok()) {
    std::fprintf(stderr, "cannot connect: %s\n", std::string(client.status().message()).c_str());
    return 1;
  }
  EchoClient echo(echo_port);
  EchoClient raw(inferd_port);
  std::printf("inferd-bench http: inferd on 127.0.0.1:%d, echo on 127.0.0.1:%d%s\n", inferd_port,
              echo_port, pinned ? " (servers on CPU 1, clients on CPU 0)" : "");

  Samples large;
  if (!MeasureRoundTrips(**client, raw, echo, kLargeBytes, options.rounds,
                         options.large_samples_per_round, large)) {
    return 1;
  }
  PrintRoundTrips("round trip, FP32 [150528] = 602,112 bytes each way", large, 1.15);
  Samples small;
  if (!MeasureRoundTrips(**client, raw, echo, kSmallBytes, options.rounds,
                         options.samples_per_round,
                         small)) {
    return 1;
  }
  PrintRoundTrips("round trip, FP32 [4] = 16 bytes each way", small, 1.3);

  // Requests in flight: the same generator against both servers, one server after the other at
  // each level, each server's CPU time per request from its threads' run time over the level.
  std::vector<float> values(kSmallBytes / sizeof(float), 1.0f);
  const std::string payload(reinterpret_cast<const char*>(values.data()), kSmallBytes);
  const std::string header = IdentityBinaryHeader(values.size(), kSmallBytes);
  const std::string inferd_request =
      HttpPost("/v2/models/identity/infer", header + payload, header.size());
  const std::string echo_request = HttpPost("/echo", payload, 0);
  std::printf("requests in flight, 16-byte identity (binary extension) / 16-byte echo; one load "
              "generator for both (one thread, N keep-alive connections)\n");
  std::printf("  %-9s %13s %13s %15s %15s %13s %13s %15s\n", "in flight", "inferd req/s",
              "echo req/s", "inferd CPU us", "echo CPU us", "inferd cs/req", "echo cs/req",
              "http:// client");
  bool ok = true;
  double cpu_at_1 = 0, cpu_at_8 = 0;
  for (int in_flight : options.levels) {
    const LoadLevelCost a =
        MeasureLevel(*inferd, inferd_port, inferd_request, in_flight, options.throughput_requests);
    const LoadLevelCost b =
        MeasureLevel(*echo_server, echo_port, echo_request, in_flight, options.throughput_requests);
    // Our own client's InferAsync against the same server, for reference (no ratio: the
    // generator differs).
    const double client_rps =
        InferdThroughput(**client, in_flight, options.throughput_requests);
    ok = ok && a.requests_per_second > 0 && b.requests_per_second > 0 && client_rps > 0;
    if (in_flight == 1) cpu_at_1 = a.cpu_us_per_request;
    if (in_flight == 8) cpu_at_8 = a.cpu_us_per_request;
    std::printf("  %-9d %13.0f %13.0f %15.1f %15.1f %13.2f %13.2f %15.0f   ratio %.3f\n",
                in_flight, a.requests_per_second, b.requests_per_second, a.cpu_us_per_request,
                b.cpu_us_per_request, a.switches_per_request, b.switches_per_request, client_rps,
                b.requests_per_second > 0 ? a.requests_per_second / b.requests_per_second : 0.0);
  }
  if (cpu_at_1 > 0 && cpu_at_8 > 0) {
    std::printf("  inferd CPU per request at 8 in flight / at 1: %.2f (goal <= 1.3: %s)\n",
                cpu_at_8 / cpu_at_1, cpu_at_8 / cpu_at_1 <= 1.3 ? "met" : "NOT met");
  }
  return ok ? 0 : 1;
}

}  // namespace inferd::bench
