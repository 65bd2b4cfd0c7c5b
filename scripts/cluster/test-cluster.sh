#!/usr/bin/env bash
# make test-cluster: build the scale-out layout from nothing (Redis Cluster, PostgreSQL
# primary + streaming replica, two app nodes, nginx; scripts/cluster/layout.py), run
# tests/cluster against it, and tear it all down whatever happens.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
started=$(date +%s)

# nginx (Debian's package) is installed when missing, as make e2e-deps installs chromium.
if ! command -v nginx >/dev/null 2>&1; then
  echo "installing nginx"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
fi

CLUSTER_DIR=$(mktemp -d /tmp/wxapp-cluster.XXXXXX)
export CLUSTER_DIR
export CLUSTER_FIGURES="$CLUSTER_DIR/figures.txt"
cleanup() {
  "$PY" scripts/cluster/layout.py down "$CLUSTER_DIR" || true
  if [ -s "$CLUSTER_FIGURES" ]; then echo "failover figures: $(cat "$CLUSTER_FIGURES")"; fi
  rm -rf "$CLUSTER_DIR"
  echo "test-cluster took $(( $(date +%s) - started ))s"
}
trap cleanup EXIT

"$PY" scripts/cluster/layout.py up "$CLUSTER_DIR"
"$PY" -m pytest -q -p no:cacheprovider -s tests/cluster "$@"
