#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the Debian packages from a release build tree (make deb):
#   inferd_<version>_amd64.deb             the server, inferd-top, the builtin and ONNX Runtime
#                                          backends with ONNX Runtime's library, the systemd unit,
#                                          /etc/default/inferd, the example repository
#   inferd-backends-ml_<version>_amd64.deb the torchscript (libtorch) and opencv_dnn plugins
# Layout: the binaries in /usr/lib/inferd/bin (/usr/bin has symlinks), the plugins in
# /usr/lib/inferd/backends, which is where the loader looks by default (<real path of the
# executable>/../backends), so no RUNPATH or path is compiled in. Binaries are stripped (no build
# paths in them); Depends come from dpkg-shlibdeps.
#
# Usage: scripts/make_deb.sh BUILD_DIR OUT_DIR
# INFERD_DEB_COMPRESSION: dpkg-deb's compression options (default -Zxz -z6; the package test uses
# -Zgzip -z1, same contents, a fraction of the time).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
build="$(cd "${1:?usage: make_deb.sh BUILD_DIR OUT_DIR}" && pwd)"
mkdir -p "${2:?usage: make_deb.sh BUILD_DIR OUT_DIR}"
out="$(cd "$2" && pwd)"
version="$(sed -n 's/^project(inferd VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")"
[ -n "$version" ] || { echo "make_deb: no version in CMakeLists.txt" >&2; exit 1; }
debian="$root/deploy/debian"
ort_library="libonnxruntime.so.1.20.1"

for f in bin/inferd bin/inferd-top backends/libinferd_backend_builtin.so \
         backends/libinferd_backend_onnxruntime.so "backends/$ort_library" \
         backends/libinferd_backend_torchscript.so backends/libinferd_backend_opencv_dnn.so; do
  if [ ! -f "$build/$f" ]; then
    echo "make_deb: $build/$f is missing (a release build with the ML backends: make build)" >&2
    exit 1
  fi
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
umask 022

# Stripped copies: no debug sections, so no source or build paths.
install_binary() {  # source destination
  install -D -m 0644 "$1" "$2"
  strip --strip-unneeded --remove-section=.comment --remove-section=.note "$2"
}

changelog() {  # package destination-dir
  local date
  date="$(date -R -d "@${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}")"
  printf '%s (%s) unstable; urgency=medium\n\n  * Release %s.\n\n -- %s  %s\n' \
    "$1" "$version" "$version" "inferd maintainers <maintainers@users.noreply.r-seed-4ab679ce.example>" \
    "$date" | gzip -9n > "$2/changelog.gz"
  chmod 0644 "$2/changelog.gz"
}

# --- inferd ---
s="$work/debian/inferd"
install_binary "$build/bin/inferd" "$s/usr/lib/inferd/bin/inferd"
install_binary "$build/bin/inferd-top" "$s/usr/lib/inferd/bin/inferd-top"
chmod 0755 "$s/usr/lib/inferd/bin/inferd" "$s/usr/lib/inferd/bin/inferd-top"
mkdir -p "$s/usr/bin"
ln -s ../lib/inferd/bin/inferd "$s/usr/bin/inferd"
ln -s ../lib/inferd/bin/inferd-top "$s/usr/bin/inferd-top"
for plugin in libinferd_backend_builtin.so libinferd_backend_onnxruntime.so; do
  install_binary "$build/backends/$plugin" "$s/usr/lib/inferd/backends/$plugin"
done
# ONNX Runtime's own release build: installed as shipped (already stripped of debug info).
install -D -m 0644 "$build/backends/$ort_library" "$s/usr/lib/inferd/backends/$ort_library"
install -D -m 0644 "$debian/inferd.service" "$s/lib/systemd/system/inferd.service"
install -D -m 0644 "$debian/inferd.default" "$s/etc/default/inferd"
install -D -m 0644 "$debian/copyright" "$s/usr/share/doc/inferd/copyright"
install -D -m 0644 "$root/docs/deployment.md" "$s/usr/share/doc/inferd/deployment.md"
changelog inferd "$s/usr/share/doc/inferd"
for model in identity add_sub busy; do
  install -D -m 0644 "$root/examples/model_repository/$model/config.pbtxt" \
    "$s/usr/share/inferd/examples/model_repository/$model/config.pbtxt"
  mkdir -p "$s/usr/share/inferd/examples/model_repository/$model/1"
done

# --- inferd-backends-ml ---
m="$work/debian/inferd-backends-ml"
for plugin in libinferd_backend_torchscript.so libinferd_backend_opencv_dnn.so; do
  install_binary "$build/backends/$plugin" "$m/usr/lib/inferd/backends/$plugin"
done
install -D -m 0644 "$debian/copyright" "$m/usr/share/doc/inferd-backends-ml/copyright"
changelog inferd-backends-ml "$m/usr/share/doc/inferd-backends-ml"

# Depends from the shared libraries (dpkg-shlibdeps reads debian/control in its working folder).
mkdir -p "$work/debian"
printf 'Source: inferd\n\nPackage: inferd\nArchitecture: amd64\n\nPackage: inferd-backends-ml\nArchitecture: amd64\n' \
  > "$work/debian/control"
shlibdeps() {  # stage files...
  local stage="$1"; shift
  (cd "$work" && dpkg-shlibdeps -O --warnings=0 "$@" | sed -n 's/^shlibs:Depends=//p')
}
inferd_depends="$(shlibdeps "$s" "$s/usr/lib/inferd/bin/inferd" "$s/usr/lib/inferd/bin/inferd-top" \
  "$s/usr/lib/inferd/backends/"*.so "$s/usr/lib/inferd/backends/$ort_library"), adduser"
ml_depends="inferd (= $version), $(shlibdeps "$m" "$m/usr/lib/inferd/backends/"*.so), libopenblas0-openmp | libopenblas0"

control() {  # stage package depends
  local size
  size="$(du -s -k --apparent-size --exclude=DEBIAN "$1" | cut -f1)"
  mkdir -p "$1/DEBIAN"
  # The stanza of this package from control.in.
  awk -v pkg="$2" 'BEGIN{RS=""; ORS="\n"} $0 ~ "^Package: " pkg "\n" {print}' "$debian/control.in" |
    sed -e "s/@VERSION@/$version/" -e "s/@SIZE@/$size/" -e "s/@DEPENDS@/$3/" > "$1/DEBIAN/control"
  (cd "$1" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
     xargs -0 md5sum > DEBIAN/md5sums)
  chmod 0644 "$1/DEBIAN/control" "$1/DEBIAN/md5sums"
}
control "$s" inferd "$inferd_depends"
echo /etc/default/inferd > "$s/DEBIAN/conffiles"
for script in postinst prerm postrm; do install -m 0755 "$debian/$script" "$s/DEBIAN/$script"; done
control "$m" inferd-backends-ml "$ml_depends"

find "$work" -type d -exec chmod 0755 {} +
for p in inferd inferd-backends-ml; do
  # shellcheck disable=SC2086  # INFERD_DEB_COMPRESSION is several options.
  dpkg-deb --root-owner-group ${INFERD_DEB_COMPRESSION:--Zxz -z6} --build "$work/debian/$p" "$out/${p}_${version}_amd64.deb" >/dev/null
  echo "make_deb: $out/${p}_${version}_amd64.deb"
done
