#!/usr/bin/env bash
# Copy WeUI's CSS and licence from the npm registry's `weui` package into static/vendor/weui/.
# The copied files are committed, so `make run` needs no npm; run this only to change version:
#   scripts/vendor-weui.sh [VERSION]     (default: the version recorded in static/vendor/weui/VERSION)
set -euo pipefail
cd "$(dirname "$0")/.."
dest=static/vendor/weui
version="${1:-$(cat "$dest/VERSION" 2>/dev/null || echo latest)}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "weui@$version" >/dev/null && tar xzf weui-*.tgz)
pkg="$tmp/package"
mkdir -p "$dest"
cp "$pkg/dist/style/weui.min.css" "$dest/weui.min.css"
cp "$pkg/LICENSE.txt" "$dest/LICENSE.txt"
node -p "require('$pkg/package.json').version" >"$dest/VERSION"
echo "weui $(cat "$dest/VERSION") copied into $dest"
