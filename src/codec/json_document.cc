// SPDX-License-Identifier: Apache-2.0
#include "codec/json_document.h"

#include "fmt/format.h"
#include "rapidjson/error/en.h"
#include "rapidjson/memorystream.h"
#include "rapidjson/reader.h"

namespace inferd::codec {
namespace {

// Forwards every SAX event to the document under construction, refusing to open a container
// deeper than the limit (the reader then stops with kParseErrorTermination).
class DepthLimitedHandler {
 public:
  DepthLimitedHandler(rapidjson::Document& doc, int max_depth) : doc_(doc), max_depth_(max_depth) {}

  bool Null() { return doc_.Null(); }
  bool Bool(bool b) { return doc_.Bool(b); }
  bool Int(int i) { return doc_.Int(i); }
  bool Uint(unsigned u) { return doc_.Uint(u); }
  bool Int64(int64_t i) { return doc_.Int64(i); }
  bool Uint64(uint64_t u) { return doc_.Uint64(u); }
  bool Double(double d) { return doc_.Double(d); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) {
    return doc_.RawNumber(s, n, copy);
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) { return doc_.String(s, n, copy); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) { return doc_.Key(s, n, copy); }
  bool StartObject() { return Open() && doc_.StartObject(); }
  bool EndObject(rapidjson::SizeType n) { return Close() && doc_.EndObject(n); }
  bool StartArray() { return Open() && doc_.StartArray(); }
  bool EndArray(rapidjson::SizeType n) { return Close() && doc_.EndArray(n); }

  bool too_deep() const { return too_deep_; }

 private:
  bool Open() {
    if (++depth_ > max_depth_) {
      too_deep_ = true;
      return false;
    }
    return true;
  }
  bool Close() {
    --depth_;
    return true;
  }

  rapidjson::Document& doc_;
  const int max_depth_;
  int depth_ = 0;
  bool too_deep_ = false;
};

}  // namespace

absl::Status ParseJsonDocument(std::string_view json, std::string_view what,
                               rapidjson::Document& doc, int max_depth) {
  rapidjson::ParseResult result;
  auto generator = [&](rapidjson::Document& target) {
    DepthLimitedHandler handler(target, max_depth);
    rapidjson::MemoryStream stream(json.data(), json.size());
    rapidjson::Reader reader;
    // Iterative: the reader keeps its own state on the heap rather than recursing per level.
    result = reader.Parse<rapidjson::kParseIterativeFlag>(stream, handler);
    if (handler.too_deep()) {
      result.Set(rapidjson::kParseErrorTermination, result.Offset());
      return false;
    }
    return !result.IsError();
  };
  doc.SetNull();
  doc.Populate(generator);
  if (!result.IsError()) return absl::OkStatus();
  doc.SetNull();
  if (result.Code() == rapidjson::kParseErrorTermination) {
    return absl::InvalidArgumentError(
        fmt::format("failed to parse {}: arrays and objects nest deeper than {} levels (at byte {})",
                    what, max_depth, result.Offset()));
  }
  return absl::InvalidArgumentError(fmt::format("failed to parse {}: {} (at byte {})", what,
                                                rapidjson::GetParseError_En(result.Code()),
                                                result.Offset()));
}

}  // namespace inferd::codec
