#!/usr/bin/env bash
# Build libirllrec-mpi and the MPI hook test against MPICH (Debian:
# libmpich-dev mpich) beside the Open MPI build, and run them with MPICH's
# mpirun: the 2- and 4-rank match and the stalled-rank timeout. Needs a
# configured build of the core library (default build-dev/).
#   scripts/mpich-check.sh [BUILD_DIR]
set -eu
cd "$(dirname "$0")/.."
build=${1:-build-dev}
command -v mpicc.mpich >/dev/null || { echo "SKIP: no mpicc.mpich (apt-get install libmpich-dev mpich)"; exit 77; }
[ -f "$build/libirllrec.so" ] || { echo "no $build/libirllrec.so: build the core first" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
flags="-std=c11 -D_POSIX_C_SOURCE=200809L -O2 -Wall -Wextra -Werror -Impi/include -Iinclude"
mpicc.mpich $flags -shared -fPIC -fvisibility=hidden mpi/collective_mpi.c -o "$out/libirllrec-mpi.so" \
  -L"$build" -lirllrec -Wl,--no-undefined
mpicc.mpich $flags -Itests tests/mpi/mpi_hook.c tests/helpers/dist_fixture.c tests/helpers/hookio.c \
  tests/helpers/testutil.c -o "$out/mpi_hook" -L"$out" -lirllrec-mpi -L"$build" -lirllrec \
  $(pkg-config --libs check) -lm -Wl,-rpath,"$out:$PWD/$build"
echo "built against: $(mpichversion 2>/dev/null | head -1)"
for p in 2 4; do bash tests/mpi/run.sh mpirun.mpich "$out/mpi_hook" match $p | tail -1; done
bash tests/mpi/run.sh mpirun.mpich "$out/mpi_hook" stall 3 | tail -1
