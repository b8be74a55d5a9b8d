#!/usr/bin/env bash
# Run tests/mpi/mpi_hook under mpirun: run.sh MPIEXEC DRIVER MODE P
#   match: mpirun must succeed and every rank print PASS
#   (shard: the same for a node-sharded hook)
#   stall, kill, shard-kill: within 60 s; every rank but the last must print PASS
#     (an IRLLREC_E_COMM within the timeout), whatever mpirun's own status
# Exit 77 (skipped) when mpirun is absent.
set -u
mpiexec=$1 driver=$2 mode=$3 p=$4
if [ -z "$mpiexec" ] || ! command -v "$mpiexec" >/dev/null 2>&1; then
  echo "SKIP: no mpirun (apt-get install openmpi-bin libopenmpi-dev)"; exit 77
fi
# Open MPI refuses root without these; one thread per rank on a shared machine.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,tcp
export OMPI_MCA_rmaps_base_oversubscribe=1 OPENBLAS_NUM_THREADS=1
case $mode in kill|shard-kill) export OMPI_MCA_orte_enable_recovery=1 ;; esac  # else mpirun kills the job itself
out=$(timeout 60 "$mpiexec" -n "$p" "$driver" "$mode" "$p" 2>&1); rc=$?
echo "$out"
if [ $rc -eq 124 ]; then echo "FAIL: mpirun still running after 60 s (a hang)"; exit 1; fi
want=$p; case $mode in match|shard) ;; *) want=$((p - 1)) ;; esac
got=$(printf '%s\n' "$out" | grep -c ': PASS')
if [ "$got" -ne "$want" ]; then echo "FAIL: $got of $want ranks passed"; exit 1; fi
if { [ "$mode" = match ] || [ "$mode" = shard ]; } && [ $rc -ne 0 ]; then echo "FAIL: mpirun exited $rc"; exit 1; fi
echo "ok: $got ranks passed ($mode, $p ranks; mpirun exit $rc)"
