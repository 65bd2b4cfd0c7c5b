"""防挂机: POST /api/presence, the answer to a presence check a beacon reply carried."""

from flask import Blueprint, jsonify

from handlers import validation as v
from handlers.guard import current_trainee_id
from wxapp.extensions import app_now
from wxapp.progress import tracking

bp = Blueprint("presence", __name__, url_prefix="/api")


@bp.post("/presence")
def answer():
    """{play_id, check_id} from the play that showed the check: 200 {ok: true}; 409
    `presence_missed` when its time ran out (the play is paused: a new play resumes),
    409 `superseded` from another play, 404 when no such check waits."""
    body = v.json_body()
    play_id = v.string(body, "play_id", max_len=64)
    check_id = v.string(body, "check_id", max_len=64)
    return jsonify(
        tracking.answer_presence(
            tracking.get_store(), current_trainee_id(), play_id, check_id, app_now()
        )
    )
