#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fetches ONNX Runtime's Linux x64 CPU library for the onnxruntime backend plugin. Debian 12 has no
# ONNX Runtime package; the npm registry's onnxruntime-node package ships ONNX Runtime's own build
# of it. This script runs `npm pack` at a pinned version (a download of the package tarball only:
# no install, no install scripts), checks the tarball's sha512 and sha1 against the values pinned
# here (those the registry published), extracts the one library and checks its sha256, and puts it
# in third_party/onnxruntime/. Nothing else from the package is used. The build copies the library
# next to the backend plugins.
#
# Idempotent and offline when the library is present with the right checksum.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"

version=1.20.1
package="onnxruntime-node@$version"
tarball_sha512="di/I4HDXRw+FLgq+TyHmQEDd3cEp9iFFZm0r4uJ1Wd7b/WE1VXtKWo8yemex347c6GNF/3Pv86ZfPhIWxORr0w=="
tarball_sha1="a5ba0bd160aeccdb4b7d36fbc2f6a97bde1f7843"
member="package/bin/napi-v3/linux/x64/libonnxruntime.so.$version"
library_sha256="b7ccdd4204a273d0f2812958c7b074f3632d1de3ab91252a8791fe6da7046d19"
dest_dir="${INFERD_ONNXRUNTIME_DIR:-$root/third_party/onnxruntime}"
dest="$dest_dir/libonnxruntime.so.$version"

if [ "$(uname -m)" != "x86_64" ]; then
  echo "fetch_onnxruntime: only x86_64 is supported (this is $(uname -m)); the onnxruntime" \
       "backend will be unavailable" >&2
  exit 0
fi

if [ -f "$dest" ] && echo "$library_sha256  $dest" | sha256sum --check --status; then
  echo "fetch_onnxruntime: $dest present"
  exit 0
fi

if ! command -v npm >/dev/null; then
  echo "fetch_onnxruntime: npm is missing (scripts/deps.sh installs it)" >&2
  exit 1
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "fetch_onnxruntime: npm pack $package"
(cd "$work" && npm pack "$package" --ignore-scripts --silent >/dev/null)
tgz="$work/onnxruntime-node-$version.tgz"
got512="$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
got1="$(sha1sum "$tgz" | cut -d' ' -f1)"
if [ "$got512" != "$tarball_sha512" ] || [ "$got1" != "$tarball_sha1" ]; then
  echo "fetch_onnxruntime: checksum mismatch for $package (sha512 $got512, sha1 $got1)" >&2
  exit 1
fi
tar -xzf "$tgz" -C "$work" "$member"
if ! echo "$library_sha256  $work/$member" | sha256sum --check --status; then
  echo "fetch_onnxruntime: $member has an unexpected sha256" >&2
  exit 1
fi
mkdir -p "$dest_dir"
install -m 0644 "$work/$member" "$dest.tmp$$"
mv "$dest.tmp$$" "$dest"
echo "fetch_onnxruntime: installed $dest"
