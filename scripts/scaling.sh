#!/usr/bin/env bash
# The seed network's training step (batch 64) on one thread and on two, in two conditions:
#   idle:     nothing else runs (what the host's neighbour does cannot be controlled: the FMA
#             peak on 1 and 2 threads, measured in every round, says how idle it was);
#   contended: a busy loop pinned to CPU 1, so the second thread shares its core.
# Every round runs the 1-thread step pinned to CPU 0 and the 2-thread step unpinned back to
# back, each with its FMA peak; the table gives medians over ROUNDS rounds (default 5) and the
# ratio of the medians. Needs 2 CPUs or more.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --example bench >/dev/null 2>&1 || cargo build --release --example bench
bench=./target/release/examples/bench
rounds=${ROUNDS:-5}
steps=${STEPS:-1000}
[ "$(nproc)" -ge 2 ] || { echo "needs 2 CPUs, this machine has $(nproc)" >&2; exit 1; }
# The named fields of one bench run's JSON line, space-separated.
fields() {
  python3 -c "import json,sys; d=json.loads(sys.stdin.readline()); print(*(d[k] for k in sys.argv[1:]))" "$@"
}
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }

# The step time and FMA peak of one bench run (a failed run ends the script: the assignment
# that captures it fails under `set -e` and `pipefail`).
measure() { "$@" --net seed --steps "$steps" --predict-batch 1 --peak | fields step_us_median peak_gflops; }

# One condition: `rounds` rounds of (1 thread pinned, 2 threads), medians and ratios.
run() {
  local name=$1 one=() two=() p1=() p2=() r s p
  for _ in $(seq "$rounds"); do
    r=$(measure taskset -c 0 "$bench"); read -r s p <<<"$r"
    one+=("$s"); p1+=("$p")
    r=$(measure "$bench" --threads 2); read -r s p <<<"$r"
    two+=("$s"); p2+=("$p")
  done
  local s1 s2 q1 q2
  s1=$(printf '%s\n' "${one[@]}" | median); s2=$(printf '%s\n' "${two[@]}" | median)
  q1=$(printf '%s\n' "${p1[@]}" | median); q2=$(printf '%s\n' "${p2[@]}" | median)
  awk -v n="$name" -v s1="$s1" -v s2="$s2" -v q1="$q1" -v q2="$q2" 'BEGIN {
    printf "%-10s 1 thread %8.1f µs (peak %6.1f)   2 threads %8.1f µs (peak %6.1f)   step %.2fx, peak %.2fx\n",
      n, s1, q1, s2, q2, s1 / s2, q2 / q1 }'
  echo "           rounds, 1 thread: ${one[*]}"
  echo "           rounds, 2 threads: ${two[*]}"
}

echo "CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1); kernels: $("$bench" --net tiny --steps 10 --predict-batch 1 | fields kernels)"
echo "seed network, batch 64, $rounds rounds of $steps steps, medians"
run idle
taskset -c 1 bash -c 'while :; do :; done' &
hog=$!
trap 'kill $hog 2>/dev/null' EXIT
run contended
