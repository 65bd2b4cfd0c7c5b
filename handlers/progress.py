"""Progress: the player's beacons, resume, and 我的进度."""

from flask import Blueprint, jsonify

from handlers import validation as v
from handlers.guard import body_limit, current_trainee_id
from wxapp import clock, limits
from wxapp.errors import ValidationError
from wxapp.progress import report, service

bp = Blueprint("progress", __name__, url_prefix="/api")

# Lua numbers are doubles: keep integers exact and lengths sane.
MAX_INT = 2**31 - 1


@bp.post("/beacons")
@body_limit(limits.BEACON_BODY)
def beacon():
    body = v.json_body()
    chapter_id = v.integer(body, "chapter_id", low=1, high=MAX_INT)
    play_id = v.string(body, "play_id", max_len=64)
    seq = v.integer(body, "seq", low=0, high=MAX_INT)
    start = v.number(body, "from", low=0)
    end = v.number(body, "to", low=0)
    position = v.number(body, "position", low=0)
    if start > end:
        raise ValidationError("from", "字段 from 不能大于 to")
    reply = service.record_beacon(
        service.get_store(),
        current_trainee_id(),
        service.Beacon(chapter_id, play_id, seq, start, end, position),
        clock.now(),
    )
    return jsonify(reply)


@bp.get("/chapters/<int:chapter_id>/resume")
def resume(chapter_id: int):
    return jsonify(service.resume(service.get_store(), current_trainee_id(), chapter_id))


@bp.get("/me/progress")
def my_progress():
    year = v.query_int("year", default=clock.local(clock.now()).year, low=2000, high=2100)
    return jsonify(report.my_progress(service.get_store(), current_trainee_id(), year))
