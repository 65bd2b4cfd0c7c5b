"""The operator console at /admin (Flask-Admin): present only when CONSOLE_ENABLED is on.

`init_console(app)` builds the `Admin`, mounts the sign-in pages, then lets each view module
(`admin_views` for 管理员, `support` for 客服, `finance` for 财务) add its views through its
`register(admin)`. The console keeps a strict Content-Security-Policy: Flask-Admin's own
inline scripts carry a per-request nonce, and the inline event handlers and `javascript:`
links of its templates are rewritten into data attributes that static/js/console.js
handles, as the templates are loaded (`_CspSafeLoader`).
"""

from __future__ import annotations

import importlib
import re
import secrets
from pathlib import Path
from typing import Any

import flask_admin
import jinja2
from flask import Blueprint, Flask, Response, g, request
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_babel import Babel

from wxapp.console import session
from wxapp.console.access import ROLE_LABELS, Role, current_operator
from wxapp.console.login import HomeView, LoginView
from wxapp.infra.texts import storable

VIEW_MODULES = ("wxapp.console.admin_views", "wxapp.console.support", "wxapp.console.finance")
LOCALE = "zh_Hans_CN"
_HERE = Path(__file__).resolve().parent
FLASK_ADMIN_TEMPLATES = Path(flask_admin.__file__).resolve().parent / "templates" / "bootstrap4"
# Texts Flask-Admin's own zh_Hans_CN catalogue lacks (merged under it, domain "admin").
TRANSLATIONS = _HERE / "translations"

# Flask-Admin's inline handlers and what replaces each (handled by static/js/console.js).
_REWRITES = [
    (re.compile(r'href="javascript:void\(0\)"'), 'href="#" data-noop'),
    (re.compile(r'onclick="return faHelpers\.safeConfirm\(\'(.*)\'\);"'), r'data-confirm="\1"'),
    (re.compile(r'onclick="return confirm\(\'(.*)\'\)"'), r'data-confirm="\1"'),
    (
        re.compile(r'onclick="return modelActions\.execute\(\'(.*?)\'\);"'),
        r'data-model-action="\1"',
    ),
    (re.compile(r'onclick="faForm\.addInlineField\(this, \'(.*?)\'\);"'), r'data-add-inline="\1"'),
    (re.compile(r'onclick="return false;"'), "data-noop"),
]
_LEFT = re.compile(r'javascript:|\son[a-z]+="')


def csp_safe(source: str, name: str = "") -> str:
    """Flask-Admin's template source with its inline handlers moved to data attributes."""
    for pattern, replacement in _REWRITES:
        source = pattern.sub(replacement, source)
    left = _LEFT.search(source)
    if left:  # a Flask-Admin upgrade added one: fail loudly rather than break the CSP
        raise RuntimeError(f"console template {name} keeps an inline handler: {left.group(0)}")
    return source


class _CspSafeLoader(jinja2.BaseLoader):
    def __init__(self) -> None:
        self.ours = jinja2.FileSystemLoader(str(_HERE / "templates"))
        self.flask_admin = jinja2.FileSystemLoader(str(FLASK_ADMIN_TEMPLATES))

    def get_source(self, environment: jinja2.Environment, template: str) -> Any:
        try:
            return self.ours.get_source(environment, template)
        except jinja2.TemplateNotFound:
            source, filename, uptodate = self.flask_admin.get_source(environment, template)
            return csp_safe(source, template), filename, uptodate


class _TemplatesBlueprint(Blueprint):
    """Registered before Flask-Admin's blueprints, so its templates are found first."""

    @property
    def jinja_loader(self) -> jinja2.BaseLoader:  # type: ignore[override]
        return _LOADER


_LOADER = _CspSafeLoader()
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'nonce-{nonce}'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def csp_nonce() -> str:
    if "console_nonce" not in g:
        g.console_nonce = secrets.token_urlsafe(18)
    return g.console_nonce


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _is_console(path: str) -> bool:
    return path == session.PATH or path.startswith(session.PATH + "/")


def init_console(app: Flask) -> Admin | None:
    """Mount the console when CONSOLE_ENABLED is on; else /admin stays a 404."""
    if not app.config.get("CONSOLE_ENABLED"):
        return None
    Babel(app, default_locale=LOCALE, locale_selector=lambda: LOCALE)
    app.register_blueprint(_TemplatesBlueprint("console_templates", __name__))
    admin = Admin(
        app,
        url=session.PATH,
        name="继续教育运营后台",
        index_view=HomeView(name="首页", url=session.PATH),
        theme=Bootstrap4Theme(base_template="console/base.html", fluid=True),
        csp_nonce_generator=csp_nonce,
        translations_path=str(TRANSLATIONS),
    )
    admin.add_view(LoginView(name="登录", endpoint="console_login", url="login"))
    app.jinja_env.globals.update(
        console_operator=current_operator,
        console_csrf=session.csrf_token,
        console_role_label=lambda role: ROLE_LABELS.get(Role(role), role),
    )
    session.install(app)

    @app.before_request
    def _refuse_unstorable_input() -> Response | None:
        """A NUL or a lone surrogate in a console query or form value is refused here
        (PostgreSQL refuses it in a search or a filter, and the page would be a 500)."""
        if not _is_console(request.path):
            return None
        values = [v for _, vs in request.args.lists() for v in vs]
        if request.method == "POST" and request.mimetype in FORM_TYPES:
            values += [v for _, vs in request.form.lists() for v in vs]
        if all(storable(v) for v in values):
            return None
        return Response(
            "请求中含有不允许的字符，请返回上一页修改后重试", 400, mimetype="text/plain"
        )

    @app.after_request
    def _console_headers(response: Response) -> Response:
        if _is_console(request.path):
            response.headers["Content-Security-Policy"] = CSP.format(nonce=csp_nonce())
            response.headers["Cache-Control"] = "no-store"
        return response

    for name in VIEW_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:
                raise
            continue  # a role's views not written yet
        module.register(admin)
    return admin
