"""GET /api/help: every contact of the notice, for the 帮助 page (public: no login needed)."""

from __future__ import annotations

from flask import Blueprint, jsonify

from handlers.guard import public
from wxapp.conversation.menu import CONTACTS

bp = Blueprint("help", __name__, url_prefix="/api")


@bp.get("/help")
@public
def contacts():
    return jsonify({"groups": [{"group": g["group"], "items": list(g["items"])} for g in CONTACTS]})
