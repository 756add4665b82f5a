#!/usr/bin/env bash
# Measures this project's generated trainers beside PyTorch, JAX and NumPy (and dfdx, where
# the Rust peers of ../shared/peers/rust are built) on the same networks in one run, and prints
# medians and ratios with the FMA peak measured in the same run, the CPU model and the
# instruction set the kernels ran.
#
# Needs the peers' virtual environment (../shared/peers/README.md; default ~/peers-venv, or
# set PEERS_VENV). dfdx runs when $PEERS_RUST/release/peer-bench exists (default
# ~/peers-rust: `cd ../shared/peers/rust && CARGO_TARGET_DIR=~/peers-rust cargo build
# --release --no-default-features --features dfdx`). Run on an idle machine.
#
# Every configuration runs ROUNDS rounds (default 5); a round measures every framework back to
# back, so a neighbour's burst hits all of them alike, and the table gives each one's median
# over the rounds. 1-thread runs are pinned to CPU 0 (taskset, and the peers' --pin); 2-thread
# runs are not pinned. NETS="seed1 seed2 small tiny" chooses configurations.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${PEERS_VENV:-$HOME/peers-venv}
peers=../shared/peers/bench_train.py
rust_peer=${PEERS_RUST:-$HOME/peers-rust}/release/peer-bench
[ -x "$venv/bin/python" ] || { echo "no peers venv at $venv (see ../shared/peers/README.md)" >&2; exit 1; }
[ -f "$peers" ] || { echo "no $peers: run from a clone with ../shared beside it" >&2; exit 1; }
cargo build --release --example bench >/dev/null 2>&1 || cargo build --release --example bench
bench=./target/release/examples/bench
frameworks=(mlp torch jax numpy)
[ -x "$rust_peer" ] && frameworks+=(dfdx)

# name  network  peers' arch  batch  threads  steps
configs=(
  "seed1 seed 784-relu:512-relu:512-10:nll 64 1 300"
  "seed2 seed 784-relu:512-relu:512-10:nll 64 2 300"
  "small small 64-tanh:32-10:nll 16 1 5000"
  "tiny tiny 2-tanh:8-sigmoid:1:mse 1 1 20000"
)
field() { python3 -c "import json,sys; print(json.loads(sys.stdin.readline())['$1'])"; }
rounds=${ROUNDS:-5}

# One step time (µs) of framework $1 on a configuration.
measure() {
  local fw=$1 net=$2 arch=$3 batch=$4 threads=$5 steps=$6
  local pinned=() pinflag=()
  if [ "$threads" = 1 ]; then pinned=(taskset -c 0); pinflag=(--pin); fi
  case "$fw" in
    mlp) "${pinned[@]}" "$bench" --net "$net" --batch "$batch" --threads "$threads" --steps "$steps" --predict-batch 1 ;;
    dfdx) "${pinned[@]}" "$rust_peer" --framework dfdx --arch "$arch" --batch "$batch" --threads "$threads" --steps "$steps" ;;
    *) "$venv/bin/python" "$peers" --framework "$fw" --arch "$arch" --batch "$batch" --threads "$threads" --steps "$steps" "${pinflag[@]}" ;;
  esac | field step_us_median
}

cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
# The FMA peak on the instruction set the kernels use, 1 and 2 threads, and that set's name.
peak1=$(taskset -c 0 "$bench" --net tiny --steps 100 --predict-batch 1 --peak | field peak_gflops)
peak2=$("$bench" --net tiny --steps 100 --predict-batch 1 --threads 2 --peak | field peak_gflops)
isa=$("$bench" --net tiny --steps 10 --predict-batch 1 | field kernels)
echo "CPU: $cpu; kernels: $isa; FMA peak $peak1 GFLOP/s on 1 thread, $peak2 on 2 (measured now)"
echo "frameworks: ${frameworks[*]}; $rounds rounds, medians"

header="%-6s %-34s %5s %3s"
printf "$header" net arch batch thr
for fw in "${frameworks[@]}"; do printf ' %10s' "$fw µs"; done
printf ' %s\n' "best Python / mlp, dfdx / mlp"
for c in "${configs[@]}"; do
  read -r name net arch batch threads steps <<<"$c"
  [[ " ${NETS:-seed1 seed2 small tiny} " == *" $name "* ]] || continue
  declare -A times=()
  for _ in $(seq "$rounds"); do
    for fw in "${frameworks[@]}"; do
      times[$fw]+="$(measure "$fw" "$net" "$arch" "$batch" "$threads" "$steps") "
    done
  done
  args=()
  for fw in "${frameworks[@]}"; do args+=("$fw=${times[$fw]}"); done
  python3 - "$name" "$arch" "$batch" "$threads" "${args[@]}" <<'PY'
import statistics, sys
name, arch, batch, threads = sys.argv[1:5]
med = {}
for a in sys.argv[5:]:
    fw, values = a.split("=", 1)
    med[fw] = statistics.median(map(float, values.split()))
row = f"{name:<6} {arch:<34} {batch:>5} {threads:>3}"
for fw, t in med.items():
    row += f" {t:>10.3f}"
best = min(med[f] for f in ("torch", "jax", "numpy") if f in med)
row += f" {best / med['mlp']:>6.2f}×"
if "dfdx" in med:
    row += f", {med['dfdx'] / med['mlp']:.2f}×"
print(row)
PY
  unset times
done
