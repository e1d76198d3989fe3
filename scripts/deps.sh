#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian packages in scripts/packages.txt that are missing, then ONNX Runtime's
# library (scripts/fetch_onnxruntime.sh). Idempotent: when everything is present it installs
# nothing and does not touch the network.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mapfile -t wanted < <(grep -v '^\s*#' "$here/packages.txt" | sed '/^\s*$/d')
missing=()
for p in "${wanted[@]}"; do
  # npm may come with another nodejs build (NodeSource's nodejs ships its own npm and conflicts
  # with Debian's npm package): any npm on PATH will do.
  if [ "$p" = npm ] && command -v npm >/dev/null; then continue; fi
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#wanted[@]} packages present"
else
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "deps: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
"$here/fetch_onnxruntime.sh"
# The Kubernetes manifests' validator (deploy/kubernetes/validate.sh): the npm packages pinned in
# its package-lock.json (exact versions and integrity hashes), installed without install scripts
# into deploy/kubernetes/validator/node_modules (gitignored). Offline when already installed.
validator="$here/../deploy/kubernetes/validator"
if [ ! -f "$validator/node_modules/.package-lock.json" ] ||
   [ "$validator/package-lock.json" -nt "$validator/node_modules/.package-lock.json" ]; then
  echo "deps: npm ci in deploy/kubernetes/validator"
  (cd "$validator" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
