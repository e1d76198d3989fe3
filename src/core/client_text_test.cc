// SPDX-License-Identifier: Apache-2.0
#include "core/client_text.h"

#include <gtest/gtest.h>

#include <string>

namespace inferd {
namespace {

TEST(QuoteClientText, QuotesPrintableTextUnchanged) {
  EXPECT_EQ(QuoteClientText("resnet50"), "'resnet50'");
  EXPECT_EQ(QuoteClientText("caf\xC3\xA9"), "'caf\xC3\xA9'");  // valid UTF-8 kept
}

TEST(QuoteClientText, EscapesControlBytesQuotesAndInvalidUtf8) {
  EXPECT_EQ(QuoteClientText(std::string("a\nb\0c", 5)), "'a\\x0Ab\\x00c'");
  EXPECT_EQ(QuoteClientText("it's"), "'it\\x27s'");
  EXPECT_EQ(QuoteClientText("\xFF\xFE"), "'\\xFF\\xFE'");
  EXPECT_EQ(QuoteClientText("\xC3"), "'\\xC3'");          // truncated sequence
  EXPECT_EQ(QuoteClientText("\xC0\xAF"), "'\\xC0\\xAF'");  // overlong '/'
  EXPECT_EQ(QuoteClientText("\xED\xA0\x80"), "'\\xED\\xA0\\x80'");  // surrogate
}

TEST(QuoteClientText, CutsLongTextAndStatesItsLength) {
  const std::string name(1 << 20, 'm');
  const std::string quoted = QuoteClientText(name);
  EXPECT_EQ(quoted, "'" + std::string(128, 'm') + "'... (1048576 bytes)");
  // Never cuts inside a UTF-8 sequence.
  EXPECT_EQ(QuoteClientText("ab\xC3\xA9", 3), "'ab'... (4 bytes)");
}

TEST(SafeErrorMessage, KeepsValidTextAndEscapesInvalidUtf8) {
  EXPECT_EQ(SafeErrorMessage("unknown model: 'caf\xC3\xA9'"), "unknown model: 'caf\xC3\xA9'");
  EXPECT_EQ(SafeErrorMessage("bad \xFF name\n"), "bad \\xFF name\n");
}

TEST(SafeErrorMessage, CutsLongMessages) {
  const std::string message(1 << 20, 'm');
  EXPECT_EQ(SafeErrorMessage(message), std::string(4096, 'm') + "... (1048576 bytes)");
}

}  // namespace
}  // namespace inferd
