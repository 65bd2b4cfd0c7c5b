#!/usr/bin/env bash
# make test-cluster: build the scale-out layout from nothing (Redis Cluster, PostgreSQL
# primary + streaming replica, two app nodes, nginx; scripts/cluster/layout.py), run
# tests/cluster against it, then the in-process API and integration suites on its Redis
# Cluster, and tear it all down whatever happens.
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

# The in-process suites (tests/api, tests/integration) again, against the layout's Redis
# Cluster: redis-py's cluster client refuses calls a single Redis takes (a DEL of several
# keys in a pipeline, a script in a pipeline), and only a run there shows them. Left out:
# the single-node fast path of the beacon (progress/wire.py, unused on a cluster) and the
# schema fuzzing (no Redis of its own). The cluster client's sockets still open at exit
# warn (ResourceWarning), which is not an error here. They use the test database of
# `make test` (TEST_DATABASE_URL) and flush the cluster; the layout's own app processes
# stop first, or its flusher would take their dirty chapters.
"$PY" scripts/cluster/layout.py apps-down "$CLUSTER_DIR"
# (A node still up: tests/cluster killed one master.)
CLUSTER_REDIS_URL=$("$PY" - "$CLUSTER_DIR/layout.json" <<'PYEOF'
import json, sys
import redis
for port in json.load(open(sys.argv[1]))["redis_ports"]:
    try:
        redis.Redis(port=port, socket_timeout=1).ping()
    except redis.RedisError:
        continue
    print(f"redis+cluster://127.0.0.1:{port}/0")
    break
PYEOF
)
REDIS_URL="$CLUSTER_REDIS_URL" DATABASE_URL="${TEST_DATABASE_URL:?set by make test-cluster}" \
  "$PY" -m pytest -q -p no:cacheprovider -W ignore::ResourceWarning \
  tests/api tests/integration \
  --ignore=tests/integration/test_progress_wire.py --ignore=tests/api/test_schemathesis.py
