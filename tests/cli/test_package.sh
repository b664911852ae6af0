#!/usr/bin/env bash
# The Debian package CPack builds, unpacked into a scratch root: the installed
# tools run (they find libnex by their relative RUNPATH, no LD_LIBRARY_PATH),
# the control area has the shlibs file and the ldconfig trigger, `man -w` finds
# their pages, the completions and models.yaml are where they belong, and
# another CMake project builds and runs against libnex with find_package(nex).
# `cmake --install` into a temporary prefix: the four tools run from there
# with an empty environment.
. "$(dirname "$0")/lib.sh"
build=$(cd "$NEX_BIN/.." && pwd)
for cmd in cpack dpkg-deb dpkg-shlibdeps man cmake readelf; do
  command -v "$cmd" >/dev/null || { echo "$cmd missing" >&2; exit 125; }
done
[ -d "$build/man" ] || { echo "no generated docs (python3 missing at build time)" >&2; exit 125; }
# The test build is instrumented: the installed programs are too.
export ASAN_OPTIONS="detect_leaks=1:verify_asan_link_order=0"
unset LD_LIBRARY_PATH

# cpack installs the build tree into its own staging folder; keep it in $WORK.
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$WORK/pkg" >"$WORK/cpack.log" 2>&1 ||
  { cat "$WORK/cpack.log"; fail "cpack failed"; }
deb=$(ls "$WORK"/pkg/nex_*.deb)
[ -f "$deb" ] || fail "cpack made no nex_*.deb"

# Control data: name, version of the project, dependencies found by dpkg-shlibdeps.
dpkg-deb --field "$deb" Package > "$WORK/pkgname"
assert_eq "$(cat "$WORK/pkgname")" nex
version=$("$NEX_BIN/nexls" --version | awk '{print $2; exit}')
assert_eq "$(dpkg-deb --field "$deb" Version)" "$version"
dpkg-deb --field "$deb" Depends > "$WORK/depends"
for lib in libavcodec libcurl libexif libyaml-cpp; do
  assert_contains "$WORK/depends" "$lib"
done

# Contents: everything in the standard places under /usr.
dpkg-deb --contents "$deb" | awk '{print $NF}' | sed 's|^\./|/|' > "$WORK/contents"
for path in /usr/bin/nexsim /usr/bin/nexls /usr/bin/nexcut /usr/bin/nexsync \
            /usr/include/nex/card.hpp /usr/share/nex/models.yaml \
            /usr/share/man/man1/nexls.1 /usr/share/man/man1/nexsync.1 /usr/share/man/man7/nex.7 \
            /usr/share/bash-completion/completions/nexls \
            /usr/share/zsh/vendor-completions/_nexcut \
            /usr/share/fish/vendor_completions.d/nexsync.fish \
            /usr/lib/cmake/nex/nexConfig.cmake /usr/lib/cmake/nex/nexTargets.cmake; do
  grep -qx -- "$path" "$WORK/contents" || { cat "$WORK/contents"; fail "package lacks $path"; }
done
grep -qE '^/usr/lib/(x86_64-linux-gnu/)?libnex\.so\.0' "$WORK/contents" || fail "package lacks libnex.so.0"

# Control area: a shlibs file for libnex.so.0 and the ldconfig trigger, so
# the loader cache knows libnex once dpkg has installed it.
dpkg-deb -e "$deb" "$WORK/control"
[ -f "$WORK/control/shlibs" ] || { ls "$WORK/control"; fail "package has no shlibs file"; }
assert_contains "$WORK/control/shlibs" "^libnex 0 nex (>= $version)"
[ -f "$WORK/control/triggers" ] || { ls "$WORK/control"; fail "package has no triggers file"; }
assert_contains "$WORK/control/triggers" "^activate-noawait ldconfig$"
dpkg-deb -I "$deb" > "$WORK/info"
assert_contains "$WORK/info" " shlibs"
assert_contains "$WORK/info" " triggers"

# Unpacked into a scratch root, the installed files work on their own.
root="$WORK/root"
dpkg-deb -x "$deb" "$root"
libdir=$(dirname "$(find "$root/usr/lib" -name 'libnex.so.0' | head -1)")
# The tools' RUNPATH is relative to themselves, nothing absolute.
readelf -d "$root/usr/bin/nexls" | grep -E 'R(UN)?PATH' > "$WORK/runpath" || fail "installed nexls has no RUNPATH"
assert_contains "$WORK/runpath" 'RUNPATH.*\[\$ORIGIN/\.\./lib'
for tool in nexsim nexls nexcut nexsync; do
  env -u NEX_BIN PATH="$root/usr/bin:/usr/bin:/bin" "$tool" --version > "$WORK/version" 2>&1 ||
    { cat "$WORK/version"; fail "installed $tool --version failed"; }
  assert_contains "$WORK/version" "$tool $version"
  assert_contains "$WORK/version" "FFmpeg"
  assert_contains "$WORK/version" "libcurl"
done
# The installed nexls links the installed libnex, not the build tree's.
ldd "$root/usr/bin/nexls" | grep libnex > "$WORK/ldd"
assert_contains "$WORK/ldd" "$root"

# cmake --install into a prefix the loader does not search: the tools run
# from there with an empty environment (ASAN_OPTIONS only: the instrumented
# build's leak checking stays on).
cmake --install "$build" --prefix "$WORK/prefix" >"$WORK/install.log" 2>&1 ||
  { cat "$WORK/install.log"; fail "cmake --install failed"; }
for tool in nexsim nexls nexcut nexsync; do
  env -i PATH=/usr/bin:/bin ASAN_OPTIONS="$ASAN_OPTIONS" "$WORK/prefix/bin/$tool" --version > "$WORK/version" 2>&1 ||
    { cat "$WORK/version"; fail "$tool --version from the cmake --install prefix failed"; }
  assert_contains "$WORK/version" "$tool $version"
done
env -i PATH=/usr/bin:/bin ldd "$WORK/prefix/bin/nexsync" | grep libnex > "$WORK/ldd"
assert_contains "$WORK/ldd" "$WORK/prefix/"
man_page=$(MANPATH="$root/usr/share/man" man -w nexls)
assert_eq "$man_page" "$root/usr/share/man/man1/nexls.1"
man_page=$(MANPATH="$root/usr/share/man" man -w 7 nex)
assert_eq "$man_page" "$root/usr/share/man/man7/nex.7"
# The page renders without groff warnings.
MANPATH="$root/usr/share/man" MANWIDTH=80 man --warnings -E UTF-8 nexls 2>"$WORK/man-warn" >"$WORK/man-text"
assert_contains "$WORK/man-text" "EXIT STATUS"
[ ! -s "$WORK/man-warn" ] || { cat "$WORK/man-warn"; fail "man nexls: groff warnings"; }

# find_package(nex) from another project, against the scratch root.
mkdir -p "$WORK/consumer"
cat > "$WORK/consumer/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
project(consumer LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 20)
find_package(nex 0.1 REQUIRED)
add_executable(consumer main.cpp)
target_link_libraries(consumer PRIVATE nex::nex)
CMAKE
cat > "$WORK/consumer/main.cpp" <<'CPP'
#include <iostream>
#include "nex/naming.hpp"
#include "nex/version.hpp"
int main() {
  auto name = nex::parse_file_name("20261120_081200_1.mp4");
  std::cout << (name ? "parsed " : "rejected ") << nex::version() << '\n';
  return name ? 0 : 1;
}
CPP
flags=()
# An instrumented libnex needs the sanitizer runtime in the program too.
# (not `ldd | grep -q`: grep -q exits at the first match, ldd then dies of
# SIGPIPE writing its next line, and pipefail turns the match into a miss)
ldd "$libdir/libnex.so.0" > "$WORK/ldd-libnex"
if grep -q libasan "$WORK/ldd-libnex"; then
  flags=(-DCMAKE_CXX_FLAGS=-fsanitize=address,undefined -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined)
fi
cmake -S "$WORK/consumer" -B "$WORK/consumer/build" -DCMAKE_PREFIX_PATH="$root/usr" "${flags[@]}" \
  >"$WORK/consumer.log" 2>&1 || { cat "$WORK/consumer.log"; fail "find_package(nex) failed"; }
cmake --build "$WORK/consumer/build" >>"$WORK/consumer.log" 2>&1 ||
  { cat "$WORK/consumer.log"; fail "building against nex::nex failed"; }
grep -q "$root/usr/lib/cmake/nex" "$WORK/consumer/build/CMakeCache.txt" || fail "nex not found in the scratch root"
# ... and runs without LD_LIBRARY_PATH (it finds libnex by its build RPATH).
env -i PATH=/usr/bin:/bin ASAN_OPTIONS="$ASAN_OPTIONS" "$WORK/consumer/build/consumer" > "$WORK/consumer.out" ||
  fail "the find_package(nex) consumer does not run"
assert_eq "$(cat "$WORK/consumer.out")" "parsed $version"
echo "ok: $(basename "$deb") installs and works from a scratch root"
