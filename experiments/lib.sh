# Shared by the experiment scripts: build once, pick full or --quick settings. A script names its
# fits with fit(); finish() writes them as a job list ($OUT/jobs.txt: one `cnf fit` line per job,
# see scripts/sweep), runs it with GNU parallel, one thread per fit (cnf's results do not depend on
# the thread count, so this changes nothing but the wall time), then evaluates every run.
# Same configuration and seed give the same bits: a fit whose folder already holds its finished
# weights is skipped, and one whose configuration another run of $OUT trained is copied.
# Environment: SWEEP_JOBS=N fits at once (default: the cores); SWEEP_PARALLEL="--sshloginfile
# hosts.txt" sends the fits to other machines (sharing this folder at the same path; add
# --transfer if they do not). The evaluations run here.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
QUICK=0
for a in "$@"; do [ "$a" = "--quick" ] && QUICK=1; done
if [ "$QUICK" = 1 ]; then
  OUT=outputs/quick
  FIT=(--iters 200 --eval-every 100 --test-size 500)
  EVAL_N=2000
  RENDER=(--grid 64 --samples 5000)
  SAMPLE=(--n 5000 --frames 5 --particles 50 --density-grid 32)
else
  OUT=outputs/experiments
  FIT=()
  EVAL_N=100000
  RENDER=(--grid 512 --samples 100000)
  SAMPLE=(--n 100000 --frames 9 --density-grid 128)
fi
if [ -z "${CNF:-}" ]; then
  bash scripts/install-deps
  swift build -c release 2>&1 | grep -E "error|warning: unre|Compiling|Build" | tail -1 >&2
  CNF="$ROOT/.build/release/cnf"
fi
case "$CNF" in */*) CNF=$(cd "$(dirname "$CNF")" && pwd)/$(basename "$CNF") ;; esac  # the job lines run in $OUT
export CNF

JOBS=${SWEEP_JOBS:-$(nproc)}
read -ra PARALLEL_OPTS <<< "${SWEEP_PARALLEL:-}"
sweep() { bash "$ROOT/scripts/sweep" "$@"; }

FITS=()
SPEC=$(mktemp)
trap 'rm -f "$SPEC"' EXIT

# fit NAME ARGS...: one training run into $OUT/NAME (log: $OUT/NAME.log), queued for finish.
fit() {
  FITS+=("$1")
  echo "$*" >> "$SPEC"
}

# Older scripts said `spawn fit …`: the job list now decides what runs at once.
spawn() { "$@"; }

# evaluated NAME: $OUT/NAME/eval.json is of the final weights, on $EVAL_N points.
evaluated() {
  [ -f "$OUT/$1/eval.json" ] && [ "$OUT/$1/eval.json" -nt "$OUT/$1/model.safetensors" ] &&
    grep -qE "\"n\" *: *$EVAL_N *,?$" "$OUT/$1/eval.json"
}

# finish: the queued fits as one job list through GNU parallel, then the evaluations (a second
# list). With SWEEP_COLLECT=FILE (experiments/run-all) the fits are only added to FILE and the
# script stops here: run-all runs every experiment's fits as one list, then each script again.
finish() {
  if [ -n "${SWEEP_COLLECT:-}" ]; then cat "$SPEC" >> "$SWEEP_COLLECT"; exit 0; fi
  sweep plan "$OUT" "$SPEC" -- "${FIT[@]}"
  sweep run "$OUT" -j "$JOBS" "${PARALLEL_OPTS[@]}"
  local evals="$OUT/.sweep/evals.txt" name
  : > "$evals"
  for name in "${FITS[@]}"; do
    evaluated "$name" ||
      printf '%q eval --run %q --n %s >> %q 2>&1\n' "$CNF" "$name" "$EVAL_N" "$name.log" >> "$evals"
  done
  sweep run "$OUT" -j "$JOBS" --list "$evals"
  for name in "${FITS[@]}"; do
    echo "  $name: $(tail -n 2 "$OUT/$name.log" | tr '\n' ' ')" >&2
  done
  FITS=()
  : > "$SPEC"
}
