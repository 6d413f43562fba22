#!/usr/bin/env bash
# Idempotent set-up for `make run` and `make test`: Debian packages, the .venv, the SPA build.
# Safe to run again: each part is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

# The runner image's packages (Dockerfile), then the monitoring stack the tests run.
DEBIAN_PACKAGES=(chromium fonts-liberation ca-certificates prometheus prometheus-alertmanager prometheus-pushgateway prometheus-blackbox-exporter)
missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.installed
lock=requirements/dev.lock  # pinned by scripts/lock.sh; the image installs requirements/runtime.lock
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ "$lock" -nt "$stamp" ]; then
  echo "setup: installing Python packages into .venv from $lock"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r "$lock"
  .venv/bin/pip install -q --no-deps -e .
  touch "$stamp"
fi

if [ -x scripts/build-spa.sh ]; then
  scripts/build-spa.sh
fi

# axe-core for the accessibility checks of the runner's pages (tests/browser/test_pages_browser.py).
if [ ! -f tests/a11y/node_modules/axe-core/axe.min.js ] || [ tests/a11y/package-lock.json -nt tests/a11y/node_modules/.package-lock.json ]; then
  echo "setup: installing axe-core (tests/a11y)"
  npm ci --prefix tests/a11y --no-audit --no-fund
fi
