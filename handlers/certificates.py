"""Certificates: issue or 刷新证书, 我的证书, one certificate as JSON, PDF and print page, and
the public verification page that the QR code opens.

Routes outside /api/ answer HTML: `GET /certificates/<id>` (the printable page, own only;
without a session it sends the browser to the login page, and a session that must activate
first, as the guard does for /api/, to 激活账号) and `GET /verify/<code>` (public:
200 有效, 410 该证书已撤销 with when and why, 404 unknown). A revoked certificate's JSON,
PDF and print page answer 409 certificate_revoked.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import (
    Blueprint,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from handlers.guard import current_trainee_id, require_password_changed
from wxapp.certificates import issuing
from wxapp.errors import Forbidden, Unauthorized
from wxapp.extensions import app_now
from wxapp.progress import learning_record

bp = Blueprint("certificates", __name__, template_folder="templates")


def _base_url() -> str:
    return current_app.config["PUBLIC_BASE_URL"]


@bp.post("/api/plans/<int:plan_id>/certificate")
def issue(plan_id: int):
    cert, created = issuing.issue_certificate(current_trainee_id(), plan_id, app_now(), _base_url())
    return jsonify(cert), 201 if created else 200


@bp.get("/api/me/certificates")
def mine():
    return jsonify({"items": issuing.list_certificates(current_trainee_id(), _base_url())})


@bp.get("/api/certificates/<int:certificate_id>")
def detail(certificate_id: int):
    return jsonify(issuing.get_certificate(current_trainee_id(), certificate_id, _base_url()))


@bp.get("/api/certificates/<int:certificate_id>.pdf")
def pdf(certificate_id: int):
    filename, body = issuing.certificate_document(current_trainee_id(), certificate_id, _base_url())
    response = current_app.response_class(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/certificates/<int:certificate_id>")
def print_page(certificate_id: int):
    try:
        trainee_id = current_trainee_id()
    except Unauthorized:
        return redirect(f"/h5/login?next={request.path}")
    try:
        require_password_changed(session)
    except Forbidden:
        return redirect(f"/h5/activate?next={quote(request.path, safe='')}")
    view = issuing.print_view(trainee_id, certificate_id, _base_url())
    return render_template(
        "certs/print.html",
        **view,
        pdf_url=url_for("certificates.pdf", certificate_id=certificate_id),
    )


@bp.get("/verify/<code>")
def verify(code: str):
    view = issuing.verify_view(code, _base_url())
    cert = view["cert"]
    if cert is None:
        return render_template("certs/verify.html", **view, learning=None), 404
    if cert["revoked"]:
        return render_template("certs/verify.html", **view, learning=None), 410
    # The learning behind it, as totals only: no device, address or time of any play.
    learning = learning_record.certificate_totals(cert["id"])
    return render_template("certs/verify.html", **view, learning=learning), 200
