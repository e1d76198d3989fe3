#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make deploy-test: the packages install and serve on a clean Debian 12. Creates a Debian 12
# (bookworm) root with debootstrap (variant minbase, the base of debian:12-slim) from this
# machine's Debian mirror, installs the .deb files with apt inside it (chroot; dependencies from
# the archive), starts inferd from the installed paths as the package's user on the packaged
# example repository, wants a 200 from /v2/health/ready, stops it with SIGTERM and wants exit 0.
# Prints the time of each step and the installed size the packages add to the base system (what
# deploy/Containerfile adds to debian:12-slim).
#
# Needs root (debootstrap, chroot, mount) and the network to the mirror. Not in make test: a few
# minutes, mostly the download (debs are cached in DEPLOY_TEST_CACHE between runs).
# Usage: scripts/deploy_test.sh DEB_DIR   (DEPLOY_TEST_ML=1 also installs inferd-backends-ml)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root_dir="$(cd "$here/.." && pwd)"
debs="$(cd "${1:?usage: deploy_test.sh DEB_DIR}" && pwd)"
version="$(sed -n 's/^project(inferd VERSION \([0-9.]*\).*/\1/p' "$root_dir/CMakeLists.txt")"
cache="${DEPLOY_TEST_CACHE:-/var/cache/inferd-deploy-test}"
port="${DEPLOY_TEST_PORT:-18080}"
[ "$(id -u)" -eq 0 ] || { echo "deploy-test: needs root (debootstrap, chroot)" >&2; exit 1; }
for deb in "inferd_${version}_amd64.deb" "inferd-backends-ml_${version}_amd64.deb"; do
  [ -f "$debs/$deb" ] || { echo "deploy-test: $debs/$deb is missing (make deb)" >&2; exit 1; }
done

# The mirror this machine's apt uses (deb822 URIs: or one-line deb entries).
uris="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null |
        grep -oE '^URIs: *\S+|^deb \S+' | awk '{print $2}' || true)"
mirror="$(grep -v security <<<"$uris" | head -1 || true)"
security="$(grep security <<<"$uris" | head -1 || true)"
mirror="${DEPLOY_TEST_MIRROR:-${mirror:-http://deb.debian.org/debian}}"
security="${security:-http://deb.debian.org/debian-security}"

work="$(mktemp -d /var/tmp/inferd-deploy-test.XXXXXX)"
chroot_dir="$work/root"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null || true
  for m in proc dev/pts dev; do umount -l "$chroot_dir/$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$cache"
start=$(date +%s.%N)
step_start=$start
step() {  # name
  local now
  now=$(date +%s.%N)
  awk -v n="$1" -v a="$step_start" -v b="$now" 'BEGIN {printf "deploy-test: %-44s %6.1f s\n", n, b - a}'
  step_start=$now
}

debootstrap --variant=minbase --cache-dir="$cache" bookworm "$chroot_dir" "$mirror" \
  > "$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log"; exit 1; }
step "debootstrap bookworm minbase ($mirror)"

cat > "$chroot_dir/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
EOF
# No service starts inside the chroot (policy-rc.d; and no systemd runs there).
printf '#!/bin/sh\nexit 101\n' > "$chroot_dir/usr/sbin/policy-rc.d"
chmod 0755 "$chroot_dir/usr/sbin/policy-rc.d"
mount -t proc proc "$chroot_dir/proc"
mount --bind /dev "$chroot_dir/dev"
mkdir -p "$chroot_dir/var/cache/apt/archives"
cp "$debs/inferd_${version}_amd64.deb" "$debs/inferd-backends-ml_${version}_amd64.deb" \
  "$chroot_dir/tmp/"
chroot "$chroot_dir" dpkg-query -W -f '${Package}\n' | sort > "$work/before"
chroot "$chroot_dir" apt-get update -qq > "$work/apt.log" 2>&1 || { cat "$work/apt.log"; exit 1; }
step "apt-get update"

packages=("/tmp/inferd_${version}_amd64.deb")
[ "${DEPLOY_TEST_ML:-0}" = 1 ] && packages+=("/tmp/inferd-backends-ml_${version}_amd64.deb")
# Dependencies come from the archive; the downloaded debs are kept in the cache for the next run.
mkdir -p "$cache/apt"
mount --bind "$cache/apt" "$chroot_dir/var/cache/apt/archives" 2>/dev/null || true
DEBIAN_FRONTEND=noninteractive chroot "$chroot_dir" apt-get install -y -q --no-install-recommends \
  "${packages[@]}" >> "$work/apt.log" 2>&1 || { tail -30 "$work/apt.log"; exit 1; }
umount -l "$chroot_dir/var/cache/apt/archives" 2>/dev/null || true
step "apt-get install ${packages[*]##*/}"

chroot "$chroot_dir" dpkg-query -W -f '${Package}\n' | sort > "$work/after"
added="$(comm -13 "$work/before" "$work/after")"
added_kib="$(for p in $added; do chroot "$chroot_dir" dpkg-query -W -f '${Installed-Size}\n' "$p"; done |
             awk '{s+=$1} END {print s}')"
ours_kib="$(for p in inferd inferd-backends-ml; do
              chroot "$chroot_dir" dpkg-query -W -f '${Installed-Size}\n' "$p" 2>/dev/null || true
            done | awk '{s+=$1} END {print s}')"
echo "deploy-test: $(echo "$added" | wc -w) packages added to minbase, Installed-Size" \
     "$((added_kib / 1024)) MiB in all, of which inferd's own $((ours_kib / 1024)) MiB"
echo "$added" | tr '\n' ' ' | fold -s -w 100 | sed 's/^/deploy-test:   /'
echo

# Installed as Debian software: the user, the unit, the conffile.
chroot "$chroot_dir" getent passwd inferd > /dev/null || { echo "deploy-test: no inferd user" >&2; exit 1; }
for f in /lib/systemd/system/inferd.service /etc/default/inferd /usr/bin/inferd \
         /usr/lib/inferd/backends/libinferd_backend_builtin.so; do
  [ -e "$chroot_dir$f" ] || { echo "deploy-test: $f is not installed" >&2; exit 1; }
done

# Serve the packaged examples as the inferd user, from the installed paths.
chroot --userspec=inferd:inferd "$chroot_dir" /usr/bin/inferd \
  --model-repository=/usr/share/inferd/examples/model_repository --http-port="$port" \
  --grpc-port=0 --metrics-port=0 > "$work/inferd.log" 2>&1 &
server_pid=$!
status=""
for _ in $(seq 1 300); do
  status="$(/usr/bin/python3 - "$port" <<'EOF' 2>/dev/null || true
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=2)
c.request("GET", "/v2/health/ready")
print(c.getresponse().status)
EOF
)"
  [ "$status" = 200 ] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if [ "$status" != 200 ]; then
  echo "deploy-test: /v2/health/ready answered '${status:-nothing}'" >&2
  cat "$work/inferd.log" >&2
  exit 1
fi
step "inferd started, GET /v2/health/ready -> 200"
kill -TERM "$server_pid"
code=0
wait "$server_pid" || code=$?
server_pid=""
if [ "$code" -ne 0 ]; then
  echo "deploy-test: inferd exited with $code on SIGTERM" >&2
  cat "$work/inferd.log" >&2
  exit 1
fi
step "SIGTERM -> exit 0"
awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "deploy-test: passed in %.1f s\n", b - a}'
