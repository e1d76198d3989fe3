// SPDX-License-Identifier: Apache-2.0
// Test fixture: a plugin built against another revision of the backend API. The loader must refuse
// it with both version numbers.
#include "inferd/backend.h"

extern "C" __attribute__((visibility("default"))) int inferd_backend_api_version() {
  return inferd::kBackendApiVersion + 1;
}

extern "C" __attribute__((visibility("default"))) inferd::Backend* inferd_backend_create() {
  return nullptr;
}
