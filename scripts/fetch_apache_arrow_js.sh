#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The `apache-arrow` JavaScript package (Apache Arrow's own implementation), pinned, for the Arrow
# interoperability test (tests/js/arrow_http_test.mjs, run with Debian's nodejs). Installed into
# third_party/apache-arrow-js/ (never committed) with npm's lockless install and no install
# scripts. Idempotent: when the pinned version is there it does not touch the network.
set -euo pipefail
version="21.2.0"
here="$(cd "$(dirname "$0")" && pwd)"
dest="$here/../third_party/apache-arrow-js"
installed="$dest/node_modules/apache-arrow/package.json"
if [ -f "$installed" ] && grep -q "\"version\": \"$version\"" "$installed"; then
  echo "fetch_apache_arrow_js: apache-arrow $version present"
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "fetch_apache_arrow_js: npm is missing (scripts/deps.sh installs it)" >&2
  exit 1
fi
mkdir -p "$dest"
echo "fetch_apache_arrow_js: npm install apache-arrow@$version"
(cd "$dest" && npm install --prefix . --ignore-scripts --no-audit --no-fund --save-exact \
   "apache-arrow@$version" >/dev/null)
grep -q "\"version\": \"$version\"" "$installed"
