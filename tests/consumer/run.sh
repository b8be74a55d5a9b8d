#!/usr/bin/env bash
# Install the build into a temporary prefix, then build and run a consumer
# against it three ways: pkg-config (shared), pkg-config --static against
# libirllrec.a alone, and CMake find_package(irllrec) (shared and static);
# and once with the experimental tier (IRLLREC_EXPERIMENTAL_API).
# Usage: run.sh BUILD_DIR CONSUMER_SRC_DIR CC
set -eu
build=$1 src=$2 cc=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(find "$prefix" -name 'libirllrec.so' -printf '%h\n' | head -n1)
[ -n "$libdir" ] || { echo "FAIL: libirllrec.so not installed"; exit 1; }
export PKG_CONFIG_PATH=$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}

echo "== pkg-config (shared)"
# shellcheck disable=SC2046
"$cc" -std=c99 -Wall -Werror "$src/consumer.c" -o "$tmp/c_pc" $(pkg-config --cflags --libs irllrec)
LD_LIBRARY_PATH=$libdir "$tmp/c_pc"
# The program must really have loaded the installed shared object.
LD_LIBRARY_PATH=$libdir ldd "$tmp/c_pc" | grep -q "$libdir/libirllrec.so" \
  || { echo "FAIL: consumer did not resolve the installed libirllrec.so"; exit 1; }

echo "== experimental tier: irllrec/experimental.h installed, opt-in with IRLLREC_EXPERIMENTAL_API"
incdir=$(pkg-config --variable=includedir irllrec)
[ -f "$incdir/irllrec/experimental.h" ] || { echo "FAIL: irllrec/experimental.h not installed"; exit 1; }
# shellcheck disable=SC2046
"$cc" -std=c99 -Wall -Werror -DIRLLREC_EXPERIMENTAL_API "$src/consumer.c" -o "$tmp/c_x" \
  $(pkg-config --cflags --libs irllrec)
LD_LIBRARY_PATH=$libdir "$tmp/c_x" | grep -q "experimental tier reachable" \
  || { echo "FAIL: experimental consumer did not reach irllrec_x_*"; exit 1; }

echo "== pkg-config --static (libirllrec.a alone)"
# shellcheck disable=SC2046
static_libs=$(pkg-config --static --libs irllrec | tr ' ' '\n' | grep -v '^-lirllrec$' | tr '\n' ' ')
"$cc" -std=c99 -Wall -Werror -DIRLLREC_STATIC $(pkg-config --cflags irllrec) "$src/consumer.c" \
  -o "$tmp/c_static" "$libdir/libirllrec.a" $static_libs
if ldd "$tmp/c_static" | grep -q libirllrec; then echo "FAIL: static consumer loads libirllrec.so"; exit 1; fi
"$tmp/c_static"

echo "== CMake find_package(irllrec)"
cmake -S "$src" -B "$tmp/cb" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" >/dev/null
cmake --build "$tmp/cb" >/dev/null
LD_LIBRARY_PATH=$libdir "$tmp/cb/consumer_shared"
"$tmp/cb/consumer_static"
echo "install_consumers: pkg-config, pkg-config --static and find_package consumers built and ran"
