#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Validates the manifests in this folder and deploy/Containerfile (validator/validate.mjs), then
# checks that the validator catches a typo'd field and a grace period shorter than the drain.
# Needs the pinned npm packages in validator/node_modules (scripts/deps.sh) and Debian's nodejs.
# Usage: deploy/kubernetes/validate.sh INFERD_BINARY
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
inferd="${1:?usage: validate.sh INFERD_BINARY}"
if [ ! -d "$here/validator/node_modules/kubernetes-models" ]; then
  echo "validate: $here/validator/node_modules is missing: run scripts/deps.sh (make deps)" >&2
  exit 1
fi
node "$here/validator/validate.mjs" "$here" "$inferd" "$root"

# The validator must fail on broken manifests, naming the problem.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
expect_failure() {  # description sed-expression file wanted-message
  rm -rf "$work/m" && mkdir "$work/m" && cp "$here"/*.yaml "$work/m/"
  sed -i "$2" "$work/m/$3"
  if out="$(node "$here/validator/validate.mjs" "$work/m" "$inferd" "$root" 2>&1)"; then
    echo "validate: $1 was not caught" >&2
    exit 1
  fi
  if ! grep -qF -- "$4" <<<"$out"; then
    echo "validate: $1: expected \"$4\" in:" >&2
    echo "$out" >&2
    exit 1
  fi
  echo "ok: caught $1"
}
expect_failure "a misspelt Kubernetes field" 's/readinessProbe:/readynessProbe:/' inferd.yaml \
  'unknown field "readynessProbe"'
expect_failure "a wrong type" 's/replicas: 2/replicas: two/' inferd.yaml 'must be integer'
expect_failure "a grace period shorter than the drain" \
  's/terminationGracePeriodSeconds: 45/terminationGracePeriodSeconds: 20/' inferd.yaml \
  'does not cover preStop'
expect_failure "a misspelt KServe field" 's/supportedModelFormats:/supportedModelFormat:/' \
  servingruntime.yaml 'unknown field "supportedModelFormat"'
expect_failure "an unknown protocol" 's/- grpc-v2/- grpc-v3/' servingruntime.yaml \
  'unknown protocol version "grpc-v3"'
expect_failure "a flag inferd does not have" 's/--grpc-port=9000/--grpc-prot=9000/' \
  servingruntime.yaml 'inferd has no flag --grpc-prot'
expect_failure "a gRPC port without h2c" 's|appProtocol: kubernetes.io/h2c|appProtocol: http|' \
  inferd.yaml 'needs appProtocol kubernetes.io/h2c'
