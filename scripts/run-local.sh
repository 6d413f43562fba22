#!/usr/bin/env bash
# `make run`: the built-in sandbox in the background, the scheduled runner in the foreground.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
SANDBOX_LOG=${SANDBOX_LOG:-artifacts/sandbox.log}
mkdir -p "$(dirname "$SANDBOX_LOG")"

"$PY" runner.py sandbox >"$SANDBOX_LOG" 2>&1 &
sandbox_pid=$!
trap 'kill -TERM $sandbox_pid 2>/dev/null; wait $sandbox_pid 2>/dev/null || true' EXIT INT TERM

for _ in $(seq 1 60); do
  if grep -q "sandbox ready" "$SANDBOX_LOG" 2>/dev/null; then break; fi
  if ! kill -0 "$sandbox_pid" 2>/dev/null; then
    echo "the sandbox did not start; its log:" >&2; cat "$SANDBOX_LOG" >&2; exit 1
  fi
  sleep 0.5
done
echo "sandbox running (log: $SANDBOX_LOG):"
grep -E "^(cdn|vault|concierge|room|admin)" "$SANDBOX_LOG" || true
"$PY" runner.py serve --config config/sandbox.yaml --max-start-offset 5 "$@"
