"""GET /healthz: the database and Redis reachable, answered within 2 s whatever hangs."""

from flask import Blueprint, jsonify

from wxapp.extensions import db, get_redis
from wxapp.infra import health

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    parts = health.check(get_redis(), db.engine)
    down = [name for name, state in parts.items() if state != "ok"]
    body = {"status": "ok" if not down else "unavailable", **parts}
    if down:
        body["message"] = "不可用：" + "、".join(down)
    return jsonify(body), 503 if down else 200
