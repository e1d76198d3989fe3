// SPDX-License-Identifier: Apache-2.0
// Part of the TSan annotations for Debian's abseil (absl_sync_annotations.cc): absl::Mutex
// evaluates a waiter's Condition inside the library, with the lock held but before the waiting
// call returns, so TSan must learn that the lock is held before the condition reads the state
// it guards. The waiting calls pass the library a Condition that says so, then evaluates theirs.
// (A file of its own: it includes mutex.h, which the other file may not, since that one defines
// functions under the mangled names mutex.h declares.)
#include "absl/synchronization/mutex.h"

extern "C" void __tsan_acquire(void* addr) __attribute__((weak));
extern "C" void __tsan_release(void* addr) __attribute__((weak));

namespace {

struct Wrapped {
  const absl::Condition* inner;
  void* mu;
};

bool EvalWrapped(void* arg) {
  auto* w = static_cast<Wrapped*>(arg);
  // Held from here; given up after (when the waiter blocks) or later (its Unlock), so what the
  // condition read happens before the next holder's accesses either way.
  if (__tsan_acquire) __tsan_acquire(w->mu);
  const bool met = w->inner->Eval();
  if (__tsan_release) __tsan_release(w->mu);
  return met;
}

}  // namespace

extern "C" bool inferd_tsan_with_condition(void* mu, const void* condition,
                                           bool (*call)(void* context, const void* wrapped),
                                           void* context) {
  Wrapped w{static_cast<const absl::Condition*>(condition), mu};
  const absl::Condition wrapped(&EvalWrapped, &w);
  return call(context, &wrapped);
}
