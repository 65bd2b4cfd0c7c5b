"""学习记录: GET /api/me/learning-record, the trainee's own plays, per course."""

from flask import Blueprint, jsonify

from handlers import validation as v
from handlers.guard import current_trainee_id
from handlers.validation import ROW_ID_MAX
from wxapp.progress import learning_record

bp = Blueprint("learning_record", __name__, url_prefix="/api")


@bp.get("/me/learning-record")
def mine():
    """`course_id` (optional): that course only; 404 when the trainee neither learned in it
    nor has a paid enrollment that includes it."""
    course_id = v.query_int("course_id", low=1, high=ROW_ID_MAX)
    return jsonify(learning_record.record_for(current_trainee_id(), course_id))
