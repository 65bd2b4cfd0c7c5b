"""GET /metrics: Prometheus counters (beacons, completions, payments, pushes)."""

import hmac

from flask import Blueprint, Response, current_app, request

from wxapp.errors import Unauthorized
from wxapp.infra.observability import metrics_text

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics():
    token = current_app.config["METRICS_TOKEN"]
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise Unauthorized("需要监控令牌", code="metrics_token_required")
    return Response(metrics_text(), mimetype="text/plain; version=0.0.4; charset=utf-8")
