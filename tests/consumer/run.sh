#!/usr/bin/env bash
# Install the build into a temporary prefix, then build and run a consumer
# against it as README.md says: pkg-config irllrec (shared), pkg-config
# irllrec-static (libirllrec.a; the binary must not need libirllrec.so), CMake
# find_package(irllrec) (shared and static); once with the experimental tier
# (IRLLREC_EXPERIMENTAL_API). Then: the shared consumer once more, by
# pkg-config and by CMake, with libsodium's and BLAS's .pc files hidden (only
# static linking needs them); find_package(irllrec) refuses another 0.x minor.
# Usage: run.sh BUILD_DIR CONSUMER_SRC_DIR CC
set -eu
build=$1 src=$(cd "$2" && pwd) cc=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
fail() { echo "FAIL: $*"; exit 1; }

cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(find "$prefix" -name 'libirllrec.so' -printf '%h\n' | head -n1)
[ -n "$libdir" ] || fail "libirllrec.so not installed"
[ -f "$libdir/libirllrec.a" ] || fail "libirllrec.a not installed"
export PKG_CONFIG_PATH=$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
needs_so() { readelf -d "$1" | grep NEEDED | grep -q 'libirllrec\.so'; }

echo "== pkg-config (shared)"
cd "$tmp"
cp "$src/consumer.c" app.c
# README.md's line, as written:
# shellcheck disable=SC2046
"$cc" app.c $(pkg-config --cflags --libs irllrec) -o c_pc
LD_LIBRARY_PATH=$libdir ./c_pc
# The program must really have loaded the installed shared object.
LD_LIBRARY_PATH=$libdir ldd c_pc | grep -q "$libdir/libirllrec.so" \
  || fail "consumer did not resolve the installed libirllrec.so"
# shellcheck disable=SC2046
"$cc" -std=c99 -Wall -Werror app.c -o c_pc_w $(pkg-config --cflags --libs irllrec)

echo "== experimental tier: irllrec/experimental.h installed, opt-in with IRLLREC_EXPERIMENTAL_API"
incdir=$(pkg-config --variable=includedir irllrec)
[ -f "$incdir/irllrec/experimental.h" ] || fail "irllrec/experimental.h not installed"
# shellcheck disable=SC2046
"$cc" -std=c99 -Wall -Werror -DIRLLREC_EXPERIMENTAL_API app.c -o c_x \
  $(pkg-config --cflags --libs irllrec)
LD_LIBRARY_PATH=$libdir ./c_x | grep -q "experimental tier reachable" \
  || fail "experimental consumer did not reach irllrec_x_*"

echo "== the C++17 wrapper irllrec/irllrec.hpp, installed, with pkg-config irllrec"
[ -f "$incdir/irllrec/irllrec.hpp" ] || fail "irllrec/irllrec.hpp not installed"
cxx=$(command -v c++ || command -v g++ || true)
if [ -n "$cxx" ]; then
  printf '#include <irllrec/irllrec.hpp>\nint main() { irllrec::context c; return c ? 0 : 1; }\n' \
    > app_hpp.cpp
  # shellcheck disable=SC2046
  "$cxx" -std=c++17 -Wall -Wextra -Wpedantic -Werror app_hpp.cpp -o cxx_pc \
    $(pkg-config --cflags --libs irllrec)
  LD_LIBRARY_PATH=$libdir ./cxx_pc || fail "C++ consumer of irllrec.hpp failed"
else
  echo "no C++ compiler: irllrec.hpp only checked for presence"
fi

echo "== pkg-config irllrec-static (libirllrec.a, with libirllrec.so installed next to it)"
# README.md's line, as written:
# shellcheck disable=SC2046
"$cc" app.c $(pkg-config --cflags --libs irllrec-static) -o c_static
if needs_so c_static; then fail "static consumer needs libirllrec.so"; fi
if ldd c_static | grep -q libirllrec; then fail "static consumer loads libirllrec.so"; fi
./c_static
# Why irllrec-static exists: `pkg-config --static irllrec` gives -lirllrec,
# which the linker resolves to the .so when both are installed.
# shellcheck disable=SC2046
"$cc" app.c $(pkg-config --static --cflags --libs irllrec) -o c_static_l
needs_so c_static_l || fail "-lirllrec picked the archive: irllrec-static.pc's reason is gone; update README.md"

echo "== CMake find_package(irllrec) (shared and static)"
cmake -S "$src" -B cb -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" >/dev/null
cmake --build cb >/dev/null
LD_LIBRARY_PATH=$libdir cb/consumer_shared
needs_so cb/consumer_static && fail "CMake static consumer needs libirllrec.so"
cb/consumer_static

echo "== the shared library without libsodium's and BLAS's development files (.pc hidden)"
grep -Eq '^Requires' "$libdir/pkgconfig/irllrec.pc" && fail "irllrec.pc requires other .pc files"
hidden=$tmp/pc-hidden
mkdir "$hidden"
# Only this install's own .pc files are visible: no libsodium.pc, no blas.pc.
pc_hidden() { env PKG_CONFIG_LIBDIR="$hidden" PKG_CONFIG_PATH="$libdir/pkgconfig" "$@"; }
pc_hidden pkg-config --exists libsodium && fail "libsodium.pc still visible"
# shellcheck disable=SC2046
"$cc" app.c $(pc_hidden pkg-config --cflags --libs irllrec) -o c_pc_hidden \
  || fail "pkg-config irllrec needs libsodium's or BLAS's .pc files"
LD_LIBRARY_PATH=$libdir ./c_pc_hidden
if pc_hidden pkg-config --libs irllrec-static >/dev/null 2>&1; then
  fail "irllrec-static.pc resolved without libsodium.pc (it must require it)"
fi
pc_hidden cmake -S "$src" -B cb_hidden -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
  -DCONSUMER_STATIC=OFF >cb_hidden.log 2>&1 \
  || { cat cb_hidden.log; fail "find_package(irllrec) for the shared library needs libsodium's or BLAS's development files"; }
grep -q "irllrec::static not defined" cb_hidden.log || { cat cb_hidden.log; fail "no note that irllrec::static is left out"; }
cmake --build cb_hidden >/dev/null
LD_LIBRARY_PATH=$libdir cb_hidden/consumer_shared
if pc_hidden cmake -S "$src" -B cb_hidden_st -DCMAKE_PREFIX_PATH="$prefix" \
     -DCMAKE_C_COMPILER="$cc" >cb_hidden_st.log 2>&1; then
  fail "find_package(irllrec COMPONENTS static) succeeded without libsodium's .pc"
fi
grep -q "irllrec::static needs the development files of: libsodium" cb_hidden_st.log \
  || { cat cb_hidden_st.log; fail "COMPONENTS static without libsodium: no clear message"; }

echo "== find_package(irllrec) refuses another 0.x minor"
ver=$(pkg-config --modversion irllrec)
major=${ver%%.*} rest=${ver#*.} minor=${rest%%.*}
# 0.x: any other minor is refused; from 1.0 a newer minor or another major.
others="$major.$((minor + 1))"
if [ "$major" -eq 0 ]; then
  [ "$minor" -gt 0 ] && others="$others $major.$((minor - 1))"
else
  others="$others $((major + 1)).0"
fi
for want in $others; do
  if cmake -S "$src" -B "cb_v$want" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
       -DIRLLREC_WANT_VERSION="$want" >"cb_v$want.log" 2>&1; then
    fail "find_package(irllrec $want) accepted installed $ver"
  fi
  grep -q 'compatible with requested version' "cb_v$want.log" \
    || { cat "cb_v$want.log"; fail "find_package(irllrec $want): not refused for its version"; }
  echo "find_package(irllrec $want) refused (installed $ver)"
done
cmake -S "$src" -B cb_v -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
  -DIRLLREC_WANT_VERSION="$major.$minor.0" >/dev/null || fail "find_package(irllrec $major.$minor.0) refused"
echo "install_consumers: pkg-config, pkg-config irllrec-static, find_package consumers built and ran;" \
     "shared consumers need no sodium/BLAS dev files; other minors refused"
