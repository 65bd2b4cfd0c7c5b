"""GET /healthz: the database and Redis reachable."""

from flask import Blueprint, jsonify

from wxapp.extensions import get_redis
from wxapp.infra import health

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    parts = health.check(get_redis())
    down = [name for name, state in parts.items() if state != "ok"]
    body = {"status": "ok" if not down else "unavailable", **parts}
    if down:
        body["message"] = "不可用：" + "、".join(down)
    return jsonify(body), 503 if down else 200
