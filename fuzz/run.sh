#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs the libFuzzer targets of a build tree (built with INFERD_FUZZ=ON).
#   fuzz/run.sh run BUILD SECONDS [TARGET...]   each target for SECONDS on top of its corpus
#   fuzz/run.sh merge BUILD [TARGET...]          minimise fuzz/corpus/TARGET with what runs found
# Seeds are fuzz/corpus/TARGET (committed, small); what a run finds goes to BUILD/fuzz/corpus/TARGET
# (kept between runs, not committed); crashes to BUILD/fuzz/artifacts/; each run's log to
# BUILD/fuzz/logs/TARGET.log, whose last lines (executions, cov:, ft:) are printed. Exits non-zero
# when a target finds a crash, a leak or a hang (-timeout) or exceeds -rss_limit_mb.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL_TARGETS=(http_request_fuzzer grpc_infer_fuzzer model_config_fuzzer ipc_protocol_fuzzer
             shm_parameters_fuzzer tensor_body_fuzzer)
mode=${1:?usage: fuzz/run.sh run|merge BUILD [SECONDS] [TARGET...]}
build=${2:?build tree}
shift 2
seconds=0
if [[ $mode == run ]]; then seconds=${1:?seconds per target}; shift; fi
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${ALL_TARGETS[@]}")

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

failed=0
for t in "${targets[@]}"; do
  bin=$build/bin/$t
  [[ -x $bin ]] || { echo "fuzz: $bin is not built (configure with -DINFERD_FUZZ=ON)"; exit 2; }
  seeds=fuzz/corpus/$t
  work=$build/fuzz/corpus/$t
  mkdir -p "$work" "$build/fuzz/artifacts" "$build/fuzz/logs"
  dict=()
  [[ -f fuzz/dict/$t.dict ]] && dict=(-dict="fuzz/dict/$t.dict")
  if [[ $mode == merge ]]; then
    merged=$(mktemp -d)
    "$bin" -merge=1 "${dict[@]}" "$merged" "$seeds" "$work" >"$build/fuzz/logs/$t.merge.log" 2>&1
    rm -rf "$seeds" && mkdir -p "$seeds" && cp "$merged"/* "$seeds"/ && rm -rf "$merged"
    echo "fuzz: $t corpus minimised to $(ls "$seeds" | wc -l) inputs, $(du -sh "$seeds" | cut -f1)"
    continue
  fi
  log=$build/fuzz/logs/$t.log
  echo "fuzz: $t for ${seconds}s (log $log)"
  if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2560 -max_len=65536 \
      -print_final_stats=1 "${dict[@]}" -artifact_prefix="$build/fuzz/artifacts/$t-" \
      "$work" "$seeds" >"$log" 2>&1; then
    grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true
    grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "$log" || true
  else
    failed=1
    echo "fuzz: $t FAILED; the end of its log:"
    tail -60 "$log"
  fi
done
exit $failed
