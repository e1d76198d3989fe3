// SPDX-License-Identifier: Apache-2.0
// ThreadSanitizer annotations for Debian's abseil, which is not built with TSan: absl::Mutex,
// CondVar, Notification and BlockingCounter synchronise through atomics and futexes inside
// libabsl_synchronization.so, where TSan cannot see them, so every access guarded by an
// absl::Mutex would be reported as a race. This library (LD_PRELOADed by `make test-tsan`) puts a
// definition of each of their blocking entry points in front of the real one (found with
// dlsym(RTLD_NEXT)), and tells TSan the happens-before edges the real one makes: acquire after a
// lock is taken (or a wait returns), release before it is given up (or a notification is sent).
// It is compiled without TSan and calls the runtime's entry points only when they exist, so an
// uninstrumented process that inherits LD_PRELOAD (ctest, a shell) is unaffected.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

#include "absl/time/time.h"

extern "C" {
void __tsan_acquire(void* addr) __attribute__((weak));
void __tsan_release(void* addr) __attribute__((weak));
// absl_condition_wrap.cc
bool inferd_tsan_with_condition(void* mu, const void* condition,
                                bool (*call)(void* context, const void* wrapped), void* context);
}

namespace {

void Acquire(const void* addr) {
  if (__tsan_acquire) __tsan_acquire(const_cast<void*>(addr));
}
void Release(const void* addr) {
  if (__tsan_release) __tsan_release(const_cast<void*>(addr));
}

template <typename F>
F Real(const char* name) {
  void* f = dlsym(RTLD_NEXT, name);
  if (f == nullptr) {
    std::fprintf(stderr, "tsan absl annotations: %s not found\n", name);
    std::abort();
  }
  return reinterpret_cast<F>(f);
}

// Runs `f(condition')` where condition' tells TSan that `mu` is held, then evaluates `condition`.
template <typename F>
bool WithCondition(void* mu, const void* condition, F f) {
  return inferd_tsan_with_condition(
      mu, condition, [](void* c, const void* wrapped) { return (*static_cast<F*>(c))(wrapped); },
      &f);
}

}  // namespace

// REAL(name, type): the real function `name` of libabsl_synchronization, resolved once.
#define REAL(name, type) static const auto real = Real<type>(#name)

extern "C" {

// absl::Mutex: the mutex's address is the synchronisation object.
void _ZN4absl7debian35Mutex4LockEv(void* mu) {
  REAL(_ZN4absl7debian35Mutex4LockEv, void (*)(void*));
  real(mu);
  Acquire(mu);
}
void _ZN4absl7debian35Mutex10ReaderLockEv(void* mu) {
  REAL(_ZN4absl7debian35Mutex10ReaderLockEv, void (*)(void*));
  real(mu);
  Acquire(mu);
}
bool _ZN4absl7debian35Mutex7TryLockEv(void* mu) {
  REAL(_ZN4absl7debian35Mutex7TryLockEv, bool (*)(void*));
  const bool locked = real(mu);
  if (locked) Acquire(mu);
  return locked;
}
bool _ZN4absl7debian35Mutex13ReaderTryLockEv(void* mu) {
  REAL(_ZN4absl7debian35Mutex13ReaderTryLockEv, bool (*)(void*));
  const bool locked = real(mu);
  if (locked) Acquire(mu);
  return locked;
}
void _ZN4absl7debian35Mutex6UnlockEv(void* mu) {
  REAL(_ZN4absl7debian35Mutex6UnlockEv, void (*)(void*));
  Release(mu);
  real(mu);
}
void _ZN4absl7debian35Mutex12ReaderUnlockEv(void* mu) {
  REAL(_ZN4absl7debian35Mutex12ReaderUnlockEv, void (*)(void*));
  Release(mu);
  real(mu);
}
void _ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE(void* mu, const void* cond) {
  REAL(_ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE, void (*)(void*, const void*));
  WithCondition(mu, cond, [&](const void* c) { real(mu, c); return true; });
  Acquire(mu);
}
void _ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE(void* mu, const void* cond) {
  REAL(_ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE, void (*)(void*, const void*));
  WithCondition(mu, cond, [&](const void* c) { real(mu, c); return true; });
  Acquire(mu);
}
// The timed forms return with the lock held whatever they return.
bool _ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE(
    void* mu, const void* cond, absl::Duration timeout) {
  REAL(_ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE,
       bool (*)(void*, const void*, absl::Duration));
  const bool met =
      WithCondition(mu, cond, [&](const void* c) { return real(mu, c, timeout); });
  Acquire(mu);
  return met;
}
bool _ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE(
    void* mu, const void* cond, absl::Time deadline) {
  REAL(_ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE,
       bool (*)(void*, const void*, absl::Time));
  const bool met =
      WithCondition(mu, cond, [&](const void* c) { return real(mu, c, deadline); });
  Acquire(mu);
  return met;
}
bool _ZN4absl7debian35Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE(
    void* mu, const void* cond, absl::Duration timeout) {
  REAL(_ZN4absl7debian35Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE,
       bool (*)(void*, const void*, absl::Duration));
  const bool met =
      WithCondition(mu, cond, [&](const void* c) { return real(mu, c, timeout); });
  Acquire(mu);
  return met;
}
bool _ZN4absl7debian35Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE(
    void* mu, const void* cond, absl::Time deadline) {
  REAL(_ZN4absl7debian35Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE,
       bool (*)(void*, const void*, absl::Time));
  const bool met =
      WithCondition(mu, cond, [&](const void* c) { return real(mu, c, deadline); });
  Acquire(mu);
  return met;
}
// Await and CondVar waits give the lock up while they wait and hold it again when they return.
void _ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE(void* mu, const void* cond) {
  REAL(_ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE, void (*)(void*, const void*));
  Release(mu);
  WithCondition(mu, cond, [&](const void* c) { real(mu, c); return true; });
  Acquire(mu);
}
bool _ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE(
    void* mu, const void* cond, absl::Duration timeout) {
  REAL(_ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE,
       bool (*)(void*, const void*, absl::Duration));
  Release(mu);
  const bool met =
      WithCondition(mu, cond, [&](const void* c) { return real(mu, c, timeout); });
  Acquire(mu);
  return met;
}
bool _ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE(
    void* mu, const void* cond, absl::Time deadline) {
  REAL(_ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE,
       bool (*)(void*, const void*, absl::Time));
  Release(mu);
  const bool met =
      WithCondition(mu, cond, [&](const void* c) { return real(mu, c, deadline); });
  Acquire(mu);
  return met;
}
void _ZN4absl7debian37CondVar4WaitEPNS0_5MutexE(void* cv, void* mu) {
  REAL(_ZN4absl7debian37CondVar4WaitEPNS0_5MutexE, void (*)(void*, void*));
  Release(mu);
  real(cv, mu);
  Acquire(mu);
}
bool _ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE(
    void* cv, void* mu, absl::Duration timeout) {
  REAL(_ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE,
       bool (*)(void*, void*, absl::Duration));
  Release(mu);
  const bool timed_out = real(cv, mu, timeout);
  Acquire(mu);
  return timed_out;
}
bool _ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE(void* cv, void* mu,
                                                                        absl::Time deadline) {
  REAL(_ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE,
       bool (*)(void*, void*, absl::Time));
  Release(mu);
  const bool timed_out = real(cv, mu, deadline);
  Acquire(mu);
  return timed_out;
}

// absl::Notification: Notify releases, a wait that saw the notification acquires.
void _ZN4absl7debian312Notification6NotifyEv(void* n) {
  REAL(_ZN4absl7debian312Notification6NotifyEv, void (*)(void*));
  Release(n);
  real(n);
}
void _ZNK4absl7debian312Notification19WaitForNotificationEv(const void* n) {
  REAL(_ZNK4absl7debian312Notification19WaitForNotificationEv, void (*)(const void*));
  real(n);
  Acquire(n);
}
bool _ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE(
    const void* n, absl::Duration timeout) {
  REAL(_ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE,
       bool (*)(const void*, absl::Duration));
  const bool notified = real(n, timeout);
  if (notified) Acquire(n);
  return notified;
}
bool _ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_4TimeE(
    const void* n, absl::Time deadline) {
  REAL(_ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_4TimeE,
       bool (*)(const void*, absl::Time));
  const bool notified = real(n, deadline);
  if (notified) Acquire(n);
  return notified;
}

// absl::BlockingCounter: each decrement releases, the wait acquires.
bool _ZN4absl7debian315BlockingCounter14DecrementCountEv(void* c) {
  REAL(_ZN4absl7debian315BlockingCounter14DecrementCountEv, bool (*)(void*));
  Release(c);
  return real(c);
}
void _ZN4absl7debian315BlockingCounter4WaitEv(void* c) {
  REAL(_ZN4absl7debian315BlockingCounter4WaitEv, void (*)(void*));
  real(c);
  Acquire(c);
}

}  // extern "C"
