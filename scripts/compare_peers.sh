#!/usr/bin/env bash
# Measures PyTorch, JAX and this project's generated trainers on the same networks in one run
# and prints the ratios. Needs the peers' virtual environment (see ../shared/peers/README.md;
# default ~/peers-venv, or set PEERS_VENV). Run on an idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${PEERS_VENV:-$HOME/peers-venv}
peers=../shared/peers/bench_train.py
[ -x "$venv/bin/python" ] || { echo "no peers venv at $venv (see ../shared/peers/README.md)" >&2; exit 1; }
[ -f "$peers" ] || { echo "no $peers: run from a clone with ../shared beside it" >&2; exit 1; }
cargo build --release --example bench >/dev/null 2>&1 || cargo build --release --example bench

# name  peers-arch  batch  threads  steps  pin
configs=(
  "seed 784-relu:512-relu:512-10:nll 64 2 300 no"
  "small 64-tanh:32-10:nll 16 1 5000 yes"
  "tiny 2-tanh:8-sigmoid:1:mse 1 1 20000 yes"
)
field() { python3 -c "import json,sys; print(json.loads(sys.stdin.readline())['$1'])"; }
# This machine is shared and noisy: each configuration runs ROUNDS rounds, each round measuring
# the three frameworks back to back, and the table reports each one's median over the rounds.
rounds=${ROUNDS:-3}
printf '%-6s %-34s %5s %3s %12s %12s %12s %9s %9s\n' net arch batch thr "mlp µs" "torch µs" "jax µs" torch/mlp jax/mlp
for c in "${configs[@]}"; do
  read -r name arch batch threads steps pin <<<"$c"
  # NETS="seed small" measures only those networks.
  [[ " ${NETS:-seed small tiny} " == *" $name "* ]] || continue
  pinflag=(); [ "$pin" = yes ] && pinflag=(--pin)
  ours=(); torch=(); jax=()
  for _ in $(seq "$rounds"); do
    # Pinned like the peers (--pin: the first `threads` CPUs), when they are.
    pinned=(); [ "$pin" = yes ] && command -v taskset >/dev/null && pinned=(taskset -c "0-$((threads - 1))")
    ours+=("$("${pinned[@]}" ./target/release/examples/bench --net "$name" --batch "$batch" --threads "$threads" --steps "$steps" | field step_us_median)")
    torch+=("$("$venv/bin/python" "$peers" --framework torch --arch "$arch" --batch "$batch" --threads "$threads" --steps "$steps" "${pinflag[@]}" | field step_us_median)")
    jax+=("$("$venv/bin/python" "$peers" --framework jax --arch "$arch" --batch "$batch" --threads "$threads" --steps "$steps" "${pinflag[@]}" | field step_us_median)")
  done
  python3 - "$name" "$arch" "$batch" "$threads" "${ours[*]}" "${torch[*]}" "${jax[*]}" <<'PY'
import statistics, sys
name, arch, batch, threads = sys.argv[1:5]
ours, torch, jax = (statistics.median(map(float, v.split())) for v in sys.argv[5:8])
print(f"{name:<6} {arch:<34} {batch:>5} {threads:>3} {ours:>12.3f} {torch:>12.3f} {jax:>12.3f} {torch/ours:>8.1f}× {jax/ours:>8.1f}×")
PY
done
