#!/bin/sh
# Runs `MPIEXEC -n N PROGRAM ARGS...` the way act's MPI tests need: --oversubscribe (more ranks than the
# machine's cores) and, when run as root (CI containers), --allow-run-as-root.
# Leak reports are off for the ranks (passed on with -x): under AddressSanitizer, Open MPI's own allocations
# at MPI_Init/MPI_Finalize, in its dlopen'ed components, are reported as leaks; act's code stays checked for
# every other error, and its leaks are checked by the other tests.
# Open MPI's single-copy shared-memory transfers (CMA) need ptrace rights that containers often withhold;
# they are off unless the caller sets OMPI_MCA_btl_vader_single_copy_mechanism.
# usage: mpirun.sh MPIEXEC N PROGRAM [ARGS...]
mpiexec=$1
n=$2
shift 2
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
OMPI_MCA_btl_vader_single_copy_mechanism="${OMPI_MCA_btl_vader_single_copy_mechanism:-none}"
export ASAN_OPTIONS OMPI_MCA_btl_vader_single_copy_mechanism
if [ "$(id -u)" = 0 ]; then
  exec "$mpiexec" -n "$n" --oversubscribe --allow-run-as-root -x ASAN_OPTIONS "$@"
fi
exec "$mpiexec" -n "$n" --oversubscribe -x ASAN_OPTIONS "$@"
