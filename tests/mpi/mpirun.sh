#!/bin/sh
# Runs `MPIEXEC -n N PROGRAM ARGS...` the way act's MPI tests need: --oversubscribe (more ranks than the
# machine's cores) and, when run as root (CI containers), --allow-run-as-root.
# usage: mpirun.sh MPIEXEC N PROGRAM [ARGS...]
mpiexec=$1
n=$2
shift 2
if [ "$(id -u)" = 0 ]; then
  exec "$mpiexec" -n "$n" --oversubscribe --allow-run-as-root "$@"
fi
exec "$mpiexec" -n "$n" --oversubscribe "$@"
