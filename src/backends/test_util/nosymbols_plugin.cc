// SPDX-License-Identifier: Apache-2.0
// Test fixture: a shared library that is not a backend plugin (it lacks the entry points).
extern "C" __attribute__((visibility("default"))) int inferd_test_fixture_not_a_plugin() {
  return 0;
}
