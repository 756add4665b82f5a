#!/usr/bin/env bash
# One process with 2 kernel threads against 2 MPI ranks with 1 thread each, on the main job
# (MNIST, seed network, 3 epochs), interleaved ROUNDS times (default 2): training time and
# final test accuracy of each run. Needs OpenMPI (Debian: libopenmpi-dev openmpi-bin
# libclang-dev pkg-config). Then the allreduce sweep and the projection (examples/allreduce.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --example mnist --example allreduce --features mpi
# Containers and root: what OpenMPI asks for (harmless elsewhere).
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_ALLOW_RUN_AS_ROOT=1 \
    OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mnist=target/release/examples/mnist
summary() { grep -E "^ +3 |training time|identical" | sed 's/^/    /'; }
for round in $(seq "${ROUNDS:-2}"); do
    echo "round $round: 1 process × 2 threads"
    "$mnist" --threads 2 --plot target/ranks-curves.svg 2>&1 | summary
    echo "round $round: 2 ranks × 1 thread"
    mpirun -np 2 --bind-to none "$mnist" --threads 1 --plot target/ranks-curves.svg 2>&1 | summary
done
mpirun -np 2 --bind-to core target/release/examples/allreduce
