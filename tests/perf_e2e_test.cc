// SPDX-License-Identifier: Apache-2.0
// End-to-end: the real inferd-perf binary measuring the real inferd (issue 16). The `busy` model
// sleeps a known time per execution, so what inferd-perf reports can be checked against it.
//
// Tolerances (per transport), derived: busy sleeps kBusyUs = 2000 us per execution, so no
// request can take less (lower bound 2.0 ms, exact). Above it come the sleep's overshoot (the
// kernel's timer slack, 50 us, plus a wake-up, tens of us on this VM) and one round trip of the
// transport with a 4-float request, measured idle on this 2-core VM with inferd-bench: local://
// about 20 us, ipc:// 30-60 us, http:// 100-200 us, grpc:// 200-400 us. The upper bounds allow
// about three times that plus 300 us for a busy shared machine: local/ipc 2.6 ms, http 3.0 ms,
// grpc 3.5 ms. The server's compute infer time is the sleep alone plus its wake-up: 2.0 to 2.8 ms
// (an average, so a few late wake-ups on a loaded machine move it little).
// In the sanitizer tree (Debug, AddressSanitizer: client and server code run several times
// slower, the transports' round trips 5-20x) the upper bounds get 10 ms (p50) and 1 ms (compute)
// more; the lower bound stays exact.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "test_util/server_process.h"

namespace inferd {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::ServerProcess;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr double kBusyUs = 2000;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif
constexpr double kSanitizerP50SlackMs = kSanitized ? 10 : 0;
constexpr double kSanitizerComputeSlackUs = kSanitized ? 1000 : 0;

std::string PerfBinary() {
  const std::string inferd = testing::InferdBinary();
  return inferd.substr(0, inferd.rfind('/') + 1) + "inferd-perf";
}

int PortFrom(const std::string& output, const std::string& name) {
  const size_t at = output.find(name + " server listening on ");
  if (at == std::string::npos) return 0;
  const std::string line = output.substr(at, output.find('\n', at) - at);
  return std::atoi(line.substr(line.rfind(':') + 1).c_str());
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// A repository with busy (2 ms per execution, one instance, batches up to 8 but no dynamic
// batching, so every request runs alone), identity, and busy_q1 (busy with a queue of one, so
// that concurrent requests are refused).
void WriteRepository(const fs::path& repo) {
  const std::string busy = R"(backend: "builtin"
max_batch_size: 8
input [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ -1 ] } ]
output [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ -1 ] } ]
instance_group [ { count: 1 kind: KIND_CPU } ]
parameters { key: "builtin_model" value { string_value: "busy" } }
parameters { key: "busy_a_us" value { string_value: "2000" } }
parameters { key: "busy_b_us" value { string_value: "0" } }
)";
  WriteFile(repo / "busy" / "config.pbtxt", "name: \"busy\"\n" + busy);
  fs::create_directories(repo / "busy" / "1");
  WriteFile(repo / "busy_q1" / "config.pbtxt",
            "name: \"busy_q1\"\n" + busy +
                "parameters { key: \"max_queue_size\" value { string_value: \"1\" } }\n");
  fs::create_directories(repo / "busy_q1" / "1");
  for (const char* model : {"identity", "add_sub"}) {
    fs::create_directories(repo / model / "1");
    fs::copy_file(fs::path(INFERD_EXAMPLE_REPOSITORY) / model / "config.pbtxt",
                  repo / model / "config.pbtxt");
  }
}

class Inferd {
 public:
  explicit Inferd(const fs::path& dir) : dir_(dir) {
    fs::create_directories(dir_);
    WriteRepository(dir_ / "repo");
    process_ = std::make_unique<ServerProcess>(
        testing::InferdBinary(),
        std::vector<std::string>{"--model-repository=" + (dir_ / "repo").string(),
                                 "--http-port=0", "--grpc-port=0", "--metrics-port=0",
                                 "--metrics-interval-ms=100", "--allow-client-shm=true",
                                 "--max-queue-size-default=0",
                                 "--ipc-socket-path=" + (dir_ / "inferd.sock").string()});
    ready_ = process_->WaitForOutput("inferd ready", 60s);
    http_ = PortFrom(process_->output(), "HTTP");
    grpc_ = PortFrom(process_->output(), "GRPC");
    metrics_ = PortFrom(process_->output(), "METRICS");
  }
  bool ready() const { return ready_ && http_ > 0 && grpc_ > 0; }
  std::string http() const { return "http://127.0.0.1:" + std::to_string(http_); }
  std::string grpc() const { return "grpc://127.0.0.1:" + std::to_string(grpc_); }
  std::string ipc() const { return "ipc://" + (dir_ / "inferd.sock").string(); }
  std::string metrics() const {
    return "http://127.0.0.1:" + std::to_string(metrics_) + "/metrics";
  }
  std::string repo() const { return (dir_ / "repo").string(); }
  ServerProcess& process() { return *process_; }

 private:
  fs::path dir_;
  std::unique_ptr<ServerProcess> process_;
  bool ready_ = false;
  int http_ = 0, grpc_ = 0, metrics_ = 0;
};

struct PerfRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr
  double seconds = 0;
};

PerfRun RunPerf(std::vector<std::string> args, std::chrono::milliseconds timeout = 60s) {
  args.insert(args.begin(), "profile");
  const auto start = std::chrono::steady_clock::now();
  ServerProcess perf(PerfBinary(), args);
  PerfRun run;
  run.exit_code = perf.WaitForExit(timeout).value_or(-1);
  run.output = perf.output();
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return run;
}

// Short windows: 250 ms, three that agree within 20%, at most five.
std::vector<std::string> Quick(std::vector<std::string> args) {
  for (const char* a : {"-p", "250", "-s", "20", "-r", "5"}) args.push_back(a);
  return args;
}

rapidjson::Document ParseJson(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  return doc;
}

class PerfE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("inferd_perf_" + std::to_string(getpid())));
    server_ = new Inferd(*dir_);
  }
  static void TearDownTestSuite() {
    delete server_;
    fs::remove_all(*dir_);
    delete dir_;
  }
  void SetUp() override { ASSERT_TRUE(server_->ready()) << server_->process().output(); }
  fs::path Temp(const std::string& name) { return *dir_ / name; }

  static fs::path* dir_;
  static Inferd* server_;
};
fs::path* PerfE2eTest::dir_ = nullptr;
Inferd* PerfE2eTest::server_ = nullptr;

struct TransportCase {
  const char* name;
  double max_p50_ms;
};

// p50 of busy at concurrency 1 on every transport, and the server's compute time.
TEST_F(PerfE2eTest, MeasuresBusyLatencyOnEveryTransport) {
  for (const TransportCase& t : {TransportCase{"local", 2.6}, TransportCase{"ipc", 2.6},
                                 TransportCase{"http", 3.0}, TransportCase{"grpc", 3.5}}) {
    SCOPED_TRACE(t.name);
    const std::string url = std::string(t.name) == "local" ? "local://" + server_->repo()
                            : std::string(t.name) == "ipc" ? server_->ipc()
                            : std::string(t.name) == "http" ? server_->http()
                                                            : server_->grpc();
    const fs::path json = Temp(std::string("busy_") + t.name + ".json");
    std::vector<std::string> args = {"-m", "busy", "-u", url, "--shape", "INPUT0:4", "--json",
                                     json.string()};
    if (std::string(t.name) == "ipc") {
      args.push_back("--control-url");
      args.push_back(server_->http());
    }
    PerfRun run = RunPerf(Quick(args));
    ASSERT_EQ(run.exit_code, 0) << run.output;
    EXPECT_THAT(run.output, HasSubstr("Request concurrency: 1"));
    rapidjson::Document doc = ParseJson(ReadFile(json));
    ASSERT_TRUE(doc.IsObject()) << ReadFile(json);
    EXPECT_EQ(std::string(doc["protocol"].GetString()), t.name);
    const auto& level = doc["levels"][0];
    const double p50_ms = level["latency_us"]["p50"].GetDouble() / 1e3;
    EXPECT_GE(p50_ms, kBusyUs / 1e3) << run.output;
    EXPECT_LE(p50_ms, t.max_p50_ms + kSanitizerP50SlackMs) << run.output;
    const double infer_us = level["server"]["compute_infer_us"].GetDouble();
    EXPECT_GE(infer_us, kBusyUs);
    EXPECT_LE(infer_us, kBusyUs + 800 + kSanitizerComputeSlackUs);
    EXPECT_GT(level["server"]["success_count"].GetUint64(), 0u);
    EXPECT_EQ(level["server"]["executions_by_batch_size"]["1"].GetUint64(),
              level["server"]["execution_count"].GetUint64());
    EXPECT_EQ(level["errors"].GetUint64(), 0u);
  }
}

// Batch 4 runs as batch 4 on the server, and throughput counts batch elements.
TEST_F(PerfE2eTest, BatchSizeShowsInBatchStatsAndThroughput) {
  const fs::path json = Temp("batch4.json");
  PerfRun run = RunPerf(Quick({"-m", "busy", "-b", "4", "-u", server_->grpc(), "--shape", "INPUT0:4",
                           "--async", "--json", json.string()}));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  rapidjson::Document doc = ParseJson(ReadFile(json));
  const auto& level = doc["levels"][0];
  EXPECT_TRUE(level["server"]["executions_by_batch_size"].HasMember("4")) << ReadFile(json);
  EXPECT_NEAR(level["throughput_infer_per_s"].GetDouble(),
              4 * level["requests_per_s"].GetDouble(), 1e-6);
}

// Open loop above capacity (busy does 500 requests/s; 1,000 asked): latency counts from the
// scheduled send time, so it grows window after window instead of staying at 2 ms.
TEST_F(PerfE2eTest, RequestRateAboveCapacityReportsGrowingLatency) {
  const fs::path json = Temp("rate.json");
  PerfRun run = RunPerf({"-m", "busy", "-u", server_->grpc(), "--shape", "INPUT0:4",
                     "--request-rate-range", "100:1000:900", "-p", "400", "-s", "10", "-r", "3",
                     "--json", json.string(), "--ignore-errors"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  rapidjson::Document doc = ParseJson(ReadFile(json));
  ASSERT_EQ(doc["levels"].Size(), 2u) << ReadFile(json);
  const auto& slow = doc["levels"][0];
  const auto& fast = doc["levels"][1];
  EXPECT_EQ(slow["request_rate"].GetDouble(), 100);
  // At 100/s the server keeps up: a request waits for nothing but itself.
  EXPECT_LT(slow["latency_us"]["p50"].GetDouble(), 10 * kBusyUs);
  // At 1,000/s the backlog grows by ~500 requests (1 s of work) per second of load.
  const auto& windows = fast["windows"];
  ASSERT_EQ(windows.Size(), 3u);
  for (rapidjson::SizeType i = 1; i < windows.Size(); ++i) {
    EXPECT_GT(windows[i]["avg_latency_us"].GetDouble(),
              windows[i - 1]["avg_latency_us"].GetDouble() + 50 * kBusyUs)
        << ReadFile(json);
  }
  EXPECT_GT(fast["latency_us"]["p50"].GetDouble(), 50 * kBusyUs);
  EXPECT_LT(fast["requests_per_s"].GetDouble(), 600);
  EXPECT_FALSE(fast["stable"].GetBool());
  EXPECT_THAT(run.output, HasSubstr("above its capacity"));
}

// -f writes perf_analyzer's CSV: its header, its column order, one row per level.
TEST_F(PerfE2eTest, CsvHasPerfAnalyzersHeaderAndOneRowPerLevel) {
  const fs::path csv = Temp("levels.csv");
  PerfRun run = RunPerf(Quick({"-m", "busy", "-u", server_->http(), "--shape", "INPUT0:4",
                           "--concurrency-range", "1:3", "-f", csv.string()}));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  std::istringstream lines(ReadFile(csv));
  std::string header;
  std::getline(lines, header);
  EXPECT_EQ(header,
            "Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,"
            "Server Compute Input,Server Compute Infer,Server Compute Output,Client Recv,"
            "p50 latency,p90 latency,p95 latency,p99 latency");
  std::vector<std::string> concurrencies;
  for (std::string line; std::getline(lines, line);) {
    EXPECT_EQ(std::count(line.begin(), line.end(), ','), 12) << line;
    concurrencies.push_back(line.substr(0, line.find(',')));
  }
  std::sort(concurrencies.begin(), concurrencies.end());
  EXPECT_EQ(concurrencies, (std::vector<std::string>{"1", "2", "3"}));

  // --verbose-csv: perf_analyzer's verbose columns next, then ours.
  const fs::path verbose = Temp("verbose.csv");
  run = RunPerf(Quick({"-m", "busy", "-u", server_->http(), "--shape", "INPUT0:4", "-f",
                       verbose.string(), "--verbose-csv"}));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  std::istringstream vlines(ReadFile(verbose));
  std::getline(vlines, header);
  EXPECT_EQ(header.rfind("Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,"
                         "Server Queue,Server Compute Input,Server Compute Infer,Server Compute "
                         "Output,Client Recv,p50 latency,p90 latency,p95 latency,p99 latency,"
                         "Avg latency,request/response,response wait,",
                         0),
            0u)
      << header;
}

TEST_F(PerfE2eTest, RequestRateCsvStartsWithRequestRate) {
  const fs::path csv = Temp("rate.csv");
  PerfRun run = RunPerf(Quick({"-m", "busy", "-u", server_->http(), "--shape", "INPUT0:4",
                           "--request-rate-range", "50", "--request-distribution", "poisson",
                           "-f", csv.string()}));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(ReadFile(csv).rfind("Request Rate,Inferences/Second,", 0), 0u);
}

TEST_F(PerfE2eTest, StreamingSharedMemoryAndInputFilesWork) {
  PerfRun run = RunPerf(Quick({"-m", "busy", "-u", server_->grpc(), "--shape", "INPUT0:4",
                           "--streaming"}));
  EXPECT_EQ(run.exit_code, 0) << run.output;
  run = RunPerf(Quick({"-m", "busy", "-u", server_->http(), "--shape", "INPUT0:4",
                       "--shared-memory", "system"}));
  EXPECT_EQ(run.exit_code, 0) << run.output;
  const fs::path data = Temp("good.json");
  WriteFile(data, R"({"data": [{"INPUT0": [1, 2, 3, 4]}, {"INPUT0": {"content": [5, 6, 7, 8]}}]})");
  run = RunPerf(Quick({"-m", "identity", "-u", server_->http(), "--shape", "INPUT0:4",
                       "--input-data", data.string()}));
  EXPECT_EQ(run.exit_code, 0) << run.output;
  // A folder of .npy files named after the inputs (NumPy format 1.0, little-endian float32).
  const fs::path npy_dir = Temp("npy");
  fs::create_directories(npy_dir);
  auto write_npy = [](const fs::path& path, const std::string& descr, size_t bytes) {
    std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (4,), }";
    while ((10 + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::string file = "\x93NUMPY";
    file += '\x01';
    file += '\x00';
    file += static_cast<char>(header.size() & 0xff);
    file += static_cast<char>(header.size() >> 8);
    file += header;
    file += std::string(bytes, '\0');
    std::ofstream(path, std::ios::binary) << file;
  };
  write_npy(npy_dir / "INPUT0.npy", "<f4", 16);
  run = RunPerf(Quick({"-m", "identity", "-u", server_->http(), "--shape", "INPUT0:4",
                       "--input-data", npy_dir.string()}));
  EXPECT_EQ(run.exit_code, 0) << run.output;
  // And the wrong dtype in a .npy is refused.
  write_npy(npy_dir / "INPUT0.npy", "<f8", 32);
  run = RunPerf(Quick({"-m", "identity", "-u", server_->http(), "--shape", "INPUT0:4",
                       "--input-data", npy_dir.string()}));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.output, AllOf(HasSubstr("INPUT0.npy"), HasSubstr("<f8"), HasSubstr("FP32")));
}

// --codec picks the body format over http:// (the http:// client's ?codec=), and says which
// transport takes which format when asked for one it does not carry.
TEST_F(PerfE2eTest, CodecPicksTheHttpBodyFormat) {
  for (const char* codec : {"json", "npy", "arrow", "binary"}) {
    const fs::path json = Temp(std::string("codec_") + codec + ".json");
    PerfRun run = RunPerf(Quick({"-m", "identity", "-u", server_->http(), "--shape", "INPUT0:4",
                                 "--codec", codec, "--json", json.string()}));
    EXPECT_EQ(run.exit_code, 0) << codec << ": " << run.output;
    rapidjson::Document doc = ParseJson(ReadFile(json));
    ASSERT_TRUE(doc.IsObject() && doc.HasMember("codec") && doc["codec"].IsString())
        << ReadFile(json);
    EXPECT_EQ(std::string(doc["codec"].GetString()), codec);
  }
  // The codec really carries the requests: a .npy body holds one array, so add_sub's two inputs
  // cannot go as npy (each request fails, naming the codec) while they go as the default binary.
  PerfRun run = RunPerf(Quick({"-m", "add_sub", "-u", server_->http(), "--codec", "binary"}));
  EXPECT_EQ(run.exit_code, 0) << run.output;
  run = RunPerf(Quick({"-m", "add_sub", "-u", server_->http(), "--codec", "npy"}));
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_THAT(run.output, HasSubstr("npy codec sends one input"));
  run = RunPerf({"-m", "identity", "-u", server_->grpc(), "--shape", "INPUT0:4",
                 "--codec", "npy"});
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output, AllOf(HasSubstr("--codec"), HasSubstr("grpc://"),
                                HasSubstr("protobuf")));
}

TEST_F(PerfE2eTest, HardwareFromMetricsIsReportedAndAbsentProbesSaidOnce) {
  const fs::path json = Temp("hw.json");
  PerfRun run = RunPerf({"-m", "busy", "-u", server_->http(), "--shape", "INPUT0:4", "-p", "400",
                     "-s", "100", "-r", "3", "--collect-metrics", "--metrics-url",
                     server_->metrics(), "--metrics-interval", "100", "--json", json.string()});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  rapidjson::Document doc = ParseJson(ReadFile(json));
  const auto& hw = doc["levels"][0]["hardware"];
  EXPECT_GT(hw["samples"].GetInt(), 0);
  EXPECT_TRUE(hw["cpu_utilization_mean"].IsNumber()) << ReadFile(json);
  EXPECT_GT(hw["resident_memory_bytes"].GetDouble(), 1e6);
  EXPECT_THAT(run.output, HasSubstr("Hardware (")) << run.output;
  // No GPU here: said once, not a zero per level.
  EXPECT_THAT(run.output, HasSubstr("Hardware: GPU: none reported"));
  EXPECT_THAT(run.output, Not(HasSubstr("GPU 0%")));
}

// ---- Bad inputs: a clear message and a non-zero exit each, nothing hanging. ----

TEST_F(PerfE2eTest, UnknownModelListsTheModelsThere) {
  PerfRun run = RunPerf({"-m", "nosuch", "-u", server_->http()});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.output, AllOf(HasSubstr("unknown model 'nosuch'"), HasSubstr("busy"),
                                HasSubstr("identity")));
  run = RunPerf({"-m", "nosuch", "-u", "local://" + server_->repo()});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.output, AllOf(HasSubstr("unknown model 'nosuch'"), HasSubstr("busy")));
}

TEST_F(PerfE2eTest, UnknownVersionSaysWhichAreReady) {
  for (const std::string& url : {server_->http(), server_->grpc()}) {
    PerfRun run = RunPerf({"-m", "busy", "-x", "7", "-u", url, "--shape", "INPUT0:4"});
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_THAT(run.output, AllOf(HasSubstr("no version 7"), HasSubstr("ready versions: 1")));
  }
}

TEST_F(PerfE2eTest, VariableDimensionWithoutShapeAsksForShape) {
  PerfRun run = RunPerf({"-m", "busy", "-u", server_->http()});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.output, AllOf(HasSubstr("'INPUT0' has variable dimensions"),
                                HasSubstr("--shape INPUT0:")));
}

// A range that is not finite, or that asks for an absurd number of levels, is refused before
// anything runs (it used to be expanded into levels until memory ran out).
TEST_F(PerfE2eTest, RangeThatIsNotAMeasurementPlanIsRefused) {
  for (const char* range : {"1:inf", "nan", "1:2:1e-9", "1:1e12"}) {
    PerfRun run = RunPerf({"-m", "busy", "-u", server_->http(), "--shape", "INPUT0:4",
                           "--concurrency-range", range},
                          10s);
    EXPECT_NE(run.exit_code, 0) << range << ": " << run.output;
    EXPECT_THAT(run.output, HasSubstr("--concurrency-range")) << range;
  }
}

TEST_F(PerfE2eTest, ShapeNamingAnUnknownInputIsRefused) {
  PerfRun run = RunPerf({"-m", "busy", "-u", server_->http(), "--shape", "NOPE:4"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.output, AllOf(HasSubstr("'NOPE'"), HasSubstr("does not have"),
                                HasSubstr("INPUT0")));
}

TEST_F(PerfE2eTest, InputDataWithWrongCountOrDatatypeIsRefused) {
  const fs::path count = Temp("count.json");
  WriteFile(count, R"({"data": [{"INPUT0": [1, 2, 3]}]})");
  PerfRun run = RunPerf({"-m", "busy", "-u", server_->http(), "--shape", "INPUT0:4", "--input-data",
                     count.string()});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.output, AllOf(HasSubstr("count.json"), HasSubstr("3 values"),
                                HasSubstr("needs 4")));
  const fs::path type = Temp("type.json");
  WriteFile(type, R"({"data": [{"INPUT0": ["a", "b", "c", "d"]}]})");
  run = RunPerf({"-m", "busy", "-u", server_->http(), "--shape", "INPUT0:4", "--input-data",
                 type.string()});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.output, AllOf(HasSubstr("type.json"), HasSubstr("a string"), HasSubstr("FP32")));
}

TEST_F(PerfE2eTest, UnreachableServerAnswersWithinThreeSeconds) {
  for (const std::string url : {"http://127.0.0.1:1", "grpc://127.0.0.1:1",
                                "ipc:///nonexistent/inferd.sock", "http://10.255.255.1:8000"}) {
    SCOPED_TRACE(url);
    PerfRun run = RunPerf({"-m", "busy", "-u", url}, 10s);
    EXPECT_EQ(run.exit_code, 1) << run.output;
    EXPECT_LT(run.seconds, 3.5);
    EXPECT_THAT(run.output, HasSubstr("inferd-perf: "));
    EXPECT_THAT(run.output, Not(HasSubstr("Request concurrency")));
  }
  // A server that accepts connections and never answers: the 3 s limit, not the kernel's.
  const int silent = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(silent, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(silent, 16), 0);
  socklen_t len = sizeof(addr);
  getsockname(silent, reinterpret_cast<sockaddr*>(&addr), &len);
  for (const char* scheme : {"http", "grpc"}) {
    const std::string url = fmt::format("{}://127.0.0.1:{}", scheme, ntohs(addr.sin_port));
    SCOPED_TRACE(url);
    PerfRun run = RunPerf({"-m", "busy", "-u", url}, 10s);
    EXPECT_EQ(run.exit_code, 1) << run.output;
    EXPECT_LT(run.seconds, 4.0);
    EXPECT_THAT(run.output, HasSubstr("no answer from " + url + " within 3000 ms"));
  }
  close(silent);
}

TEST_F(PerfE2eTest, FailingResponsesAreCountedShownAndMarked) {
  // busy_q1 queues one request: at concurrency 4 the others are refused with 503.
  const fs::path json = Temp("fail.json");
  PerfRun run = RunPerf(Quick({"-m", "busy_q1", "-u", server_->http(), "--shape", "INPUT0:4",
                           "--concurrency-range", "4", "--json", json.string()}));
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_THAT(run.output, AllOf(HasSubstr("ERR"), HasSubstr("Errors: "),
                                HasSubstr("requests failed")));
  rapidjson::Document doc = ParseJson(ReadFile(json));
  EXPECT_GT(doc["levels"][0]["errors"].GetUint64(), 0u);
  EXPECT_GT(doc["levels"][0]["errors_by_message"].MemberCount(), 0u);
  run = RunPerf(Quick({"-m", "busy_q1", "-u", server_->http(), "--shape", "INPUT0:4",
                       "--concurrency-range", "4", "--ignore-errors"}));
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("ERR"));
}

// The server killed mid-run: the levels already measured are written, then the error.
TEST(PerfKilledServerTest, MeasuredLevelsAreWrittenThenTheError) {
  const fs::path dir = fs::temp_directory_path() / ("inferd_perf_kill_" + std::to_string(getpid()));
  fs::remove_all(dir);
  Inferd server(dir);
  ASSERT_TRUE(server.ready()) << server.process().output();
  const fs::path csv = dir / "out.csv";
  const fs::path json = dir / "out.json";
  ServerProcess perf(PerfBinary(),
                     {"profile", "-m", "busy", "-u", server.http(), "--shape", "INPUT0:4",
                      "--concurrency-range", "1:50", "-p", "200", "-s", "100", "-r", "3", "-f",
                      csv.string(), "--json", json.string()});
  // Each level is three 200 ms windows: after 2.5 s at least two are measured.
  std::this_thread::sleep_for(2500ms);
  server.process().Signal(SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  const std::optional<int> code = perf.WaitForExit(30s);
  ASSERT_TRUE(code.has_value()) << perf.output();
  EXPECT_LT(std::chrono::steady_clock::now() - killed, 15s);
  EXPECT_EQ(*code, 3) << perf.output();
  EXPECT_THAT(perf.output(), HasSubstr("measured and written"));
  std::istringstream lines(ReadFile(csv));
  int rows = -1;
  for (std::string line; std::getline(lines, line);) ++rows;
  EXPECT_GE(rows, 1) << ReadFile(csv);
  rapidjson::Document doc = ParseJson(ReadFile(json));
  ASSERT_TRUE(doc.IsObject());
  EXPECT_EQ(static_cast<int>(doc["levels"].Size()), rows);
  EXPECT_TRUE(doc["error"].IsString());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace inferd
