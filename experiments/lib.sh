# Shared by the experiment scripts: build once, pick full or --quick settings, run fits two at a
# time (one thread each: cnf's results do not depend on the thread count, so this changes
# nothing but the wall time).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
QUICK=0
for a in "$@"; do [ "$a" = "--quick" ] && QUICK=1; done
if [ "$QUICK" = 1 ]; then
  OUT=outputs/quick
  FIT=(--iters 200 --eval-every 100 --test-size 500)
  EVAL=(--n 2000)
  RENDER=(--grid 64 --samples 5000)
  SAMPLE=(--n 5000 --frames 5 --particles 50 --density-grid 32)
else
  OUT=outputs/experiments
  FIT=()
  EVAL=(--n 100000)
  RENDER=(--grid 512 --samples 100000)
  SAMPLE=(--n 100000 --frames 9 --density-grid 128)
fi
if [ -z "${CNF:-}" ]; then
  bash scripts/install-deps
  swift build -c release 2>&1 | grep -E "error|warning: unre|Compiling|Build" | tail -1 >&2
  CNF="$ROOT/.build/release/cnf"
fi
export CNF

# fit NAME ARGS...: one training run into $OUT/NAME, then its evaluation. Same configuration
# and seed give the same bits, so a run whose resolved configuration was already trained in
# this output folder is copied instead of trained again (the copy says where it came from).
fit() {
  local name=$1; shift
  mkdir -p "$OUT/$(dirname "$name")" "$OUT/.by-config"
  local key
  key=$("$CNF" fit --dry-run --out /dev/null "${FIT[@]}" "$@" | grep -v gitCommit | sha256sum | cut -c1-16)
  local done="$OUT/.by-config/$key"
  if [ -f "$done" ] && [ -f "$(cat "$done")/model.safetensors" ]; then
    local from; from=$(cat "$done")
    rm -rf "$OUT/$name"; cp -r "$from" "$OUT/$name"
    echo "identical configuration already trained in $from: copied" > "$OUT/$name.log"
  else
    "$CNF" fit --out "$OUT/$name" --force --threads 1 "${FIT[@]}" "$@" > "$OUT/$name.log" 2>&1
    echo "$OUT/$name" > "$done"
  fi
  "$CNF" eval --run "$OUT/$name" "${EVAL[@]}" >> "$OUT/$name.log" 2>&1
  echo "  $name: $(tail -n 2 "$OUT/$name.log" | tr '\n' ' ')" >&2
}

# Two jobs at a time.
running=0
spawn() {
  "$@" &
  running=$((running + 1))
  if [ "$running" -ge 2 ]; then wait -n; running=$((running - 1)); fi
}
finish() { wait; running=0; }
