// SPDX-License-Identifier: Apache-2.0
#include "codec/npy.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "core/client_text.h"
#include "fmt/format.h"

namespace inferd::codec {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;

absl::Status Invalid(std::string message) { return absl::InvalidArgumentError(std::move(message)); }

// What a header says.
struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  Shape shape;
};

// The header dict: a Python literal {'descr': <str>, 'fortran_order': <bool>, 'shape': <tuple>}
// in any key order, optionally with a trailing comma; integers may carry Python 2's 'L'.
class HeaderParser {
 public:
  explicit HeaderParser(std::string_view text) : text_(text) {}

  absl::Status Parse(NpyHeader& out) {
    bool have_descr = false, have_order = false, have_shape = false;
    if (!Eat('{')) return Error("does not start with '{'");
    while (true) {
      SkipSpace();
      if (Eat('}')) break;
      std::string key;
      if (absl::Status s = String(key, "a key"); !s.ok()) return s;
      if (!Eat(':')) return Error(fmt::format("has no ':' after the key {}", QuoteClientText(key)));
      SkipSpace();
      if (key == "descr") {
        if (Peek() == '[') {
          return Invalid(
              "the npy dtype is a structured dtype (a list of fields); only plain numeric, "
              "bool and 'S' (fixed-width bytes) dtypes map to a KServe datatype");
        }
        if (absl::Status s = String(out.descr, "the 'descr' value"); !s.ok()) return s;
        have_descr = true;
      } else if (key == "fortran_order") {
        if (Word("True")) {
          out.fortran_order = true;
        } else if (Word("False")) {
          out.fortran_order = false;
        } else {
          return Error("has a 'fortran_order' that is not True or False");
        }
        have_order = true;
      } else if (key == "shape") {
        if (absl::Status s = Tuple(out.shape); !s.ok()) return s;
        have_shape = true;
      } else {
        return Error(fmt::format("has the unknown key {}", QuoteClientText(key)));
      }
      SkipSpace();
      if (Eat('}')) break;
      if (!Eat(',')) return Error("has no ',' or '}' after a value");
    }
    SkipSpace();
    if (pos_ != text_.size()) return Error("has text after the closing '}'");
    if (!have_descr || !have_order || !have_shape) {
      return Error(fmt::format("lacks the key '{}'", !have_descr   ? "descr"
                                                     : !have_order ? "fortran_order"
                                                                   : "shape"));
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Error(std::string_view what) const {
    return Invalid(fmt::format("the npy header {} (at byte {} of {})", what, pos_,
                               QuoteClientText(text_, 96)));
  }
  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Eat(char c) {
    SkipSpace();
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }
  bool Word(std::string_view w) {
    SkipSpace();
    if (text_.substr(pos_, w.size()) != w) return false;
    pos_ += w.size();
    return true;
  }
  absl::Status String(std::string& out, std::string_view what) {
    SkipSpace();
    const char quote = Peek();
    if (quote != '\'' && quote != '"')
      return Error(fmt::format("has {} that is not a string", what));
    const size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) return Error("has an unterminated string");
    out = std::string(text_.substr(pos_ + 1, end - pos_ - 1));
    if (out.find('\\') != std::string::npos) return Error("has a string with an escape");
    pos_ = end + 1;
    return absl::OkStatus();
  }
  absl::Status Tuple(Shape& shape) {
    if (!Eat('(')) return Error("has a 'shape' that is not a tuple");
    while (true) {
      SkipSpace();
      if (Eat(')')) return absl::OkStatus();
      int64_t v = 0;
      size_t digits = 0;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, text_[pos_] - '0', &v)) {
          return Error("has a dimension too large for int64");
        }
        ++pos_;
        ++digits;
      }
      if (digits == 0) return Error("has a 'shape' entry that is not a non-negative integer");
      if (Peek() == 'L') ++pos_;
      if (shape.size() == kMaxNpyDimensions) {
        return Error(fmt::format("has more than {} dimensions", kMaxNpyDimensions));
      }
      shape.push_back(v);
      if (Eat(')')) return absl::OkStatus();
      if (!Eat(',')) return Error("has no ',' or ')' in 'shape'");
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
};

// A dtype string, understood.
struct NpyDtype {
  DataType datatype = DataType::kInvalid;
  size_t item_size = 0;
  bool big_endian = false;
};

absl::StatusOr<NpyDtype> ParseDescr(std::string_view descr) {
  auto unsupported = [&](std::string_view why) {
    return Invalid(
        fmt::format("the npy dtype {} {}; supported: bool, int8..int64, uint8..uint64, "
                    "float16/32/64 and 'S' (fixed-width bytes, as BYTES)",
                    QuoteClientText(descr), why));
  };
  NpyDtype d;
  std::string_view rest = descr;
  if (!rest.empty() && (rest[0] == '<' || rest[0] == '>' || rest[0] == '|' || rest[0] == '=')) {
    d.big_endian = rest[0] == '>';
    rest.remove_prefix(1);
  }
  if (rest == "?") rest = "b1";
  if (rest.empty()) return unsupported("is empty");
  const char kind = rest[0];
  size_t size = 0;
  const std::string_view digits = rest.substr(1);
  for (char c : digits) {
    if (c < '0' || c > '9' || size > (size_t{1} << 40)) return unsupported("is not understood");
    size = size * 10 + static_cast<size_t>(c - '0');
  }
  if (digits.empty()) {
    if (kind == 'O') return unsupported("(Python objects) has no KServe datatype");
    return unsupported("is not understood");
  }
  d.item_size = size;
  switch (kind) {
    case 'b':
      if (size == 1) d.datatype = DataType::kBool;
      break;
    case 'i':
      d.datatype = size == 1   ? DataType::kInt8
                   : size == 2 ? DataType::kInt16
                   : size == 4 ? DataType::kInt32
                   : size == 8 ? DataType::kInt64
                               : DataType::kInvalid;
      break;
    case 'u':
      d.datatype = size == 1   ? DataType::kUint8
                   : size == 2 ? DataType::kUint16
                   : size == 4 ? DataType::kUint32
                   : size == 8 ? DataType::kUint64
                               : DataType::kInvalid;
      break;
    case 'f':
      d.datatype = size == 2   ? DataType::kFp16
                   : size == 4 ? DataType::kFp32
                   : size == 8 ? DataType::kFp64
                               : DataType::kInvalid;
      break;
    case 'S':
      if (size == 0) return unsupported("has zero-width elements");
      d.datatype = DataType::kBytes;
      break;
    case 'c':
      return unsupported("(complex) has no KServe datatype");
    case 'U':
      return unsupported("(unicode, UTF-32) is not accepted; encode the strings to bytes ('S')");
    case 'O':
      return unsupported("(Python objects) has no KServe datatype");
    case 'M':
    case 'm':
      return unsupported("(datetime/timedelta) has no KServe datatype");
    case 'V':
      return unsupported("(void/structured) has no KServe datatype");
    default:
      break;
  }
  if (d.datatype == DataType::kInvalid) return unsupported("has no KServe datatype");
  return d;
}

std::string ShapeTuple(std::span<const int64_t> shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

// Copies a Fortran-order array into C order (`item` bytes per element).
void FortranToC(const std::byte* src, std::byte* dst, std::span<const int64_t> shape, size_t item,
                size_t count) {
  const size_t n = shape.size();
  std::vector<size_t> stride(n), index(n, 0);
  size_t s = item;
  for (size_t i = 0; i < n; ++i) {
    stride[i] = s;
    s *= static_cast<size_t>(shape[i]);
  }
  size_t offset = 0;
  for (size_t k = 0; k < count; ++k) {
    std::memcpy(dst + k * item, src + offset, item);
    for (size_t d = n; d-- > 0;) {  // Advance the C-order index, last dimension fastest.
      ++index[d];
      offset += stride[d];
      if (index[d] < static_cast<size_t>(shape[d])) break;
      offset -= stride[d] * index[d];
      index[d] = 0;
    }
  }
}

}  // namespace

std::string_view NpyDescrOf(DataType type) {
  switch (type) {
    case DataType::kBool:
      return "|b1";
    case DataType::kUint8:
      return "|u1";
    case DataType::kUint16:
      return "<u2";
    case DataType::kUint32:
      return "<u4";
    case DataType::kUint64:
      return "<u8";
    case DataType::kInt8:
      return "|i1";
    case DataType::kInt16:
      return "<i2";
    case DataType::kInt32:
      return "<i4";
    case DataType::kInt64:
      return "<i8";
    case DataType::kFp16:
      return "<f2";
    case DataType::kFp32:
      return "<f4";
    case DataType::kFp64:
      return "<f8";
    default:
      return "";
  }
}

absl::StatusOr<InferInput> DecodeNpy(std::span<const std::byte> body,
                                     std::shared_ptr<const void> owner) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(body.data());
  if (body.size() < kMagicSize + 2 || std::memcmp(bytes, kMagic, kMagicSize) != 0) {
    return Invalid(fmt::format(
        "the body is not a .npy array: it does not start with the magic \\x93NUMPY ({} bytes)",
        body.size()));
  }
  const unsigned major = bytes[6], minor = bytes[7];
  size_t length_size = 0;
  if (major == 1 && minor == 0) {
    length_size = 2;
  } else if ((major == 2 || major == 3) && minor == 0) {
    length_size = 4;
  } else {
    return Invalid(fmt::format(
        "the .npy format version {}.{} is not supported (1.0, 2.0 and 3.0 are)", major, minor));
  }
  const size_t prefix = kMagicSize + 2 + length_size;
  if (body.size() < prefix) {
    return Invalid(fmt::format("the .npy header is truncated: the body has {} bytes", body.size()));
  }
  size_t header_length = 0;
  for (size_t i = 0; i < length_size; ++i) header_length |= size_t{bytes[8 + i]} << (8 * i);
  if (header_length > kMaxNpyHeaderBytes) {
    return Invalid(fmt::format("the .npy header is {} bytes, more than the {} accepted",
                               header_length, kMaxNpyHeaderBytes));
  }
  if (body.size() - prefix < header_length) {
    return Invalid(fmt::format(
        "the .npy header is truncated: it declares {} header bytes but the body has only {} "
        "after the length field",
        header_length, body.size() - prefix));
  }
  const std::string_view text(reinterpret_cast<const char*>(bytes + prefix), header_length);
  NpyHeader header;
  if (absl::Status s = HeaderParser(text).Parse(header); !s.ok()) return s;
  auto dtype = ParseDescr(header.descr);
  if (!dtype.ok()) return dtype.status();
  const std::optional<int64_t> count = ElementCount(header.shape);
  size_t expected = 0;
  if (!count || __builtin_mul_overflow(static_cast<size_t>(*count), dtype->item_size, &expected)) {
    return Invalid(fmt::format("the .npy shape {} is too large", ShapeTuple(header.shape)));
  }
  const size_t offset = prefix + header_length;
  const size_t available = body.size() - offset;
  if (available != expected) {
    return Invalid(fmt::format(
        "the .npy header declares shape {} of {} ({} bytes of data) but {} bytes follow the "
        "header",
        ShapeTuple(header.shape), QuoteClientText(header.descr), expected, available));
  }

  InferInput in;
  in.datatype = dtype->datatype;
  in.shape = header.shape;
  const std::byte* data = body.data() + offset;
  const size_t item = dtype->item_size;
  size_t long_dims = 0;
  for (int64_t d : header.shape) long_dims += d > 1 ? 1 : 0;
  const bool transpose = header.fortran_order && long_dims > 1;
  const bool swap = dtype->big_endian && item > 1 && in.datatype != DataType::kBytes;
  const bool aligned = reinterpret_cast<uintptr_t>(data) % std::min<size_t>(item, 8) == 0;
  if (in.datatype != DataType::kBytes && !transpose && !swap && aligned) {
    in.data = data;  // Zero copy: a view into the body.
    in.byte_size = expected;
    in.owner = std::move(owner);
    return in;
  }
  std::vector<std::byte> c_order;
  const std::byte* src = data;
  if (transpose) {
    c_order.resize(expected);
    FortranToC(data, c_order.data(), header.shape, item, static_cast<size_t>(*count));
    src = c_order.data();
  }
  if (in.datatype == DataType::kBytes) {
    auto out = std::make_shared<std::string>();
    out->reserve(expected + 4 * static_cast<size_t>(*count));
    for (size_t k = 0; k < static_cast<size_t>(*count); ++k) {
      std::string_view element(reinterpret_cast<const char*>(src + k * item), item);
      while (!element.empty() && element.back() == '\0') element.remove_suffix(1);
      AppendBytesElement(*out, element);
    }
    in.data = reinterpret_cast<const std::byte*>(out->data());
    in.byte_size = out->size();
    in.owner = std::move(out);
    return in;
  }
  auto out = std::make_shared<std::vector<std::byte>>(expected);
  if (src == data) {
    std::memcpy(out->data(), data, expected);
  } else {
    *out = std::move(c_order);
  }
  if (swap) {
    for (size_t k = 0; k < expected; k += item)
      std::reverse(out->data() + k, out->data() + k + item);
  }
  in.data = out->data();
  in.byte_size = expected;
  in.owner = std::move(out);
  return in;
}

absl::StatusOr<EncodedNpy> EncodeNpy(const TensorView& tensor) {
  EncodedNpy encoded;
  std::string descr(NpyDescrOf(tensor.datatype));
  if (tensor.datatype == DataType::kBytes) {
    auto elements = ParseBytesTensor({tensor.data, tensor.byte_size}, ElementCount(tensor.shape));
    if (!elements.ok()) return elements.status();
    size_t width = 1;
    for (std::string_view e : *elements) width = std::max(width, e.size());
    auto storage = std::make_shared<std::vector<std::byte>>(width * elements->size());
    for (size_t k = 0; k < elements->size(); ++k) {
      std::memcpy(storage->data() + k * width, (*elements)[k].data(), (*elements)[k].size());
    }
    descr = fmt::format("|S{}", width);
    encoded.data = *storage;
    encoded.storage = std::move(storage);
  } else if (descr.empty()) {
    return Invalid(fmt::format("output {} is {}, which has no NumPy dtype; ask for another format",
                               QuoteClientText(tensor.name), DataTypeName(tensor.datatype)));
  } else {
    encoded.data = {tensor.data, tensor.byte_size};
  }
  const std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
                                       descr, ShapeTuple(tensor.shape));
  // Magic, version, length field, dict, newline: padded with spaces to a multiple of 64.
  size_t prefix = kMagicSize + 2 + 2;
  unsigned major = 1;
  auto padded = [&] { return (prefix + dict.size() + 1 + 63) / 64 * 64; };
  if (padded() - prefix > 0xffff) {
    prefix = kMagicSize + 2 + 4;
    major = 2;
  }
  const size_t total = padded();
  const size_t header_length = total - prefix;
  std::string& h = encoded.header;
  h.reserve(total);
  h.append(kMagic, kMagicSize);
  h.push_back(static_cast<char>(major));
  h.push_back('\0');
  for (size_t i = 0; i < prefix - kMagicSize - 2; ++i) {
    h.push_back(static_cast<char>((header_length >> (8 * i)) & 0xff));
  }
  h += dict;
  h.append(total - h.size() - 1, ' ');
  h.push_back('\n');
  return encoded;
}

}  // namespace inferd::codec
