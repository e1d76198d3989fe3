// SPDX-License-Identifier: Apache-2.0
#include "core/infer_payload.h"

namespace inferd {

void InferPayload::Complete(std::unique_ptr<InferPayload> payload, absl::Status status) {
  CompletionFn done = std::move(payload->on_complete);
  if (done) done(std::move(payload), std::move(status));
}

}  // namespace inferd
