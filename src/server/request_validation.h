// SPDX-License-Identifier: Apache-2.0
// Checks an inference request against its model's config and prepares the views the scheduler
// and backend see. Every error is INVALID_ARGUMENT and names the model and the input or output.
#pragma once

#include "absl/status/status.h"
#include "core/infer_payload.h"
#include "model_config.pb.h"

namespace inferd {

// Validates payload.request against `config` and fills payload.inputs (config order, reshape
// applied), payload.input_shapes, payload.batch_size, payload.requested_outputs, and the
// schedule-policy parameters (priority, timeout). Checks: no unknown or duplicate input, every
// non-optional input present, datatype equal to the config's, shape matching dims (plus the batch
// dimension, 1..max_batch_size and equal across inputs, when the model batches), byte size equal
// to shape × element size (for BYTES, a well-formed length-prefixed buffer with one element per
// shape element), requested outputs known and not repeated, `priority` and `timeout` integers, and
// each output's `classification` parameter (a non-negative integer, on a numeric output that is not
// also in shared memory; see classification.h), which fills payload.classifications.
absl::Status ValidateAndPrepare(const inference::ModelConfig& config, InferPayload& payload);

}  // namespace inferd
