#!/usr/bin/env bash
# Build the sandbox SPA (sandbox/spa -> sandbox/spa/dist), which sandbox/cdn.py serves.
# Idempotent: installs packages only when package.json/package-lock.json changed since the
# last install, and builds only when a source is newer than the last build.
set -euo pipefail

spa_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../sandbox/spa" && pwd)"
cd "$spa_dir"

install_marker="node_modules/.package-lock.json"  # npm rewrites it on every install
build_marker="dist/index.html"

needs_install() {
    [[ ! -f "$install_marker" ]] && return 0
    [[ package.json -nt "$install_marker" ]] && return 0
    [[ -f package-lock.json && package-lock.json -nt "$install_marker" ]] && return 0
    return 1
}

needs_build() {
    [[ ! -f "$build_marker" ]] && return 0
    local newer
    newer="$(find index.html vite.config.js package.json package-lock.json src public \
        -newer "$build_marker" -print -quit 2>/dev/null)"
    [[ -n "$newer" ]]
}

if needs_install; then
    if [[ -f package-lock.json ]]; then
        echo "build-spa: npm ci"
        npm ci --no-audit --no-fund
    else
        echo "build-spa: npm install (no lock file yet)"
        npm install --no-audit --no-fund
    fi
else
    echo "build-spa: node_modules up to date"
fi

if needs_build; then
    echo "build-spa: vite build"
    npx --no-install vite build
else
    echo "build-spa: dist up to date"
fi
