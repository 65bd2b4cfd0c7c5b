"""Who may open what in the console: roles, the signed-in operator, and secured view bases.

Every console view derives from `SecuredView` or `SecuredModelView` and names the roles that
may open it. A view opens only for an active operator who passed both the password and the
TOTP code (and, after a 管理员 set their password, chose a new one: until then they are
sent to 修改密码); anyone else is sent to the login page, and an operator without the role
gets 403.
Model views write through `with transaction():` with an audit row in the same transaction
(Flask-Admin's own commit is not used), and forms carry a CSRF token tied to the session.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar

import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView
from flask_admin.contrib.sqla import ModelView
from flask_admin.form import BaseForm
from markupsafe import Markup, escape
from wtforms.csrf.core import CSRF
from wtforms.meta import DefaultMeta
from wtforms.validators import ValidationError as WTFormsValidationError

from models import db
from wxapp.console import audit, session
from wxapp.console.identity import (
    ROLE_LABELS,
    Role,
    current_operator,
    has_role,
    password_change_due,
    pending_operator,
)
from wxapp.errors import AppError
from wxapp.infra.transaction import transaction

__all__ = [
    "ROLE_LABELS",
    "ConsoleForm",
    "Role",
    "SecuredModelView",
    "SecuredView",
    "current_operator",
    "has_role",
    "password_change_due",
    "pending_operator",
    "post_button",
    "require_csrf",
    "snapshot",
]

# Fields never copied into an audit row or shown in a list.
SECRET_FIELDS = frozenset({"password_hash", "totp_secret"})


class ConsoleCSRF(CSRF):
    """A token derived from the console session's key (not Flask's trainee session)."""

    def generate_csrf_token(self, csrf_token_field: Any) -> str:
        return session.csrf_token()

    def validate_csrf_token(self, form: Any, field: Any) -> None:
        if not session.csrf_ok(field.data):
            raise WTFormsValidationError("页面已过期，请刷新后重试")


class ConsoleForm(BaseForm):
    """Base of every console form: CSRF-protected with the console session."""

    class Meta(DefaultMeta):
        csrf = True
        csrf_class = ConsoleCSRF
        csrf_field_name = "csrf_token"
        _translations = BaseForm.Meta._translations

        def get_translations(self, form: Any) -> Any:
            return self._translations


def require_csrf() -> None:
    """For a console action posted by `post_button` or a hand-written form: 400 without a
    good token."""
    if not session.csrf_ok(request.form.get("csrf_token")):
        abort(400, "页面已过期，请刷新后重试")


def post_button(
    url: str,
    label: str,
    *,
    fields: dict[str, str] | None = None,
    confirm: str | None = None,
    css: str = "btn btn-sm btn-outline-primary",
) -> Markup:
    """A one-button POST form with the CSRF token (row actions that change something)."""
    hidden = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
        for k, v in {"csrf_token": session.csrf_token(), **(fields or {})}.items()
    )
    confirm_attr = f' data-confirm="{escape(confirm)}"' if confirm else ""
    return Markup(
        f'<form method="post" action="{escape(url)}" class="console-inline">{hidden}'
        f'<button type="submit" class="{escape(css)}"{confirm_attr}>{escape(label)}</button></form>'
    )


def _deny() -> Any:
    if current_operator() is not None:
        abort(403)
    if pending_operator() is not None:
        return redirect(url_for("console_login.totp"))
    if password_change_due() is not None:
        return redirect(url_for("console_login.password"))
    return redirect(url_for("console_login.index", next=request.full_path.rstrip("?")))


class SecuredView(BaseView):
    """A console page for the roles named in `roles`."""

    roles: ClassVar[frozenset[Role]] = frozenset()

    def is_accessible(self) -> bool:
        return has_role(*self.roles)

    def is_visible(self) -> bool:
        return self.is_accessible()

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Any:
        return _deny()

    def posted_action(
        self, run: Callable[[], Any], message: str | Callable[[Any], str], back: str, **values: Any
    ) -> Any:
        """A form posted to an action: check its CSRF token, `run()` it, flash `message` (or
        `message(result)`) or why it was not done, then go back to the page `back` names."""
        require_csrf()
        try:
            result = run()
        except AppError as err:
            flash(f"操作未完成：{err.message}", "error")
        else:
            flash(message(result) if callable(message) else message, "success")
        return redirect(url_for(back, **values))


def snapshot(obj: Any) -> dict[str, Any]:
    """The record's column values as JSON (for the audit row), secrets left out.

    A time is written in UTC, as the database keeps it: a form gives it back in Beijing
    time, and the same instant must read the same before and after, or the log shows a
    change nobody made."""
    values: dict[str, Any] = {}
    for column in sa.inspect(type(obj)).columns:
        if column.key in SECRET_FIELDS:
            continue
        value = getattr(obj, column.key, None)
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.astimezone(UTC).isoformat()
        elif isinstance(value, datetime | date):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = str(value)
        values[column.key] = value
    return values


def _changed(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict, dict]:
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def _primary_key(obj: Any) -> str:
    identity = sa.inspect(obj).identity
    return ",".join(str(v) for v in identity) if identity else ""


# The last list page any console table could reach (50 rows a page).
MAX_PAGE = 100_000
_INTEGER = re.compile(r"-?[0-9]{1,19}")


class SecuredModelView(ModelView):
    """A model's list and forms for the roles named in `roles`; writes audited.

    `audit_type` names the record kind in the audit log (defaults to the table name).
    Deleting is off unless a view turns it on.
    """

    roles: ClassVar[frozenset[Role]] = frozenset()
    audit_type: ClassVar[str | None] = None
    form_base_class = ConsoleForm
    can_delete = False
    can_export = False
    page_size = 50

    def __init__(self, model: Any, **kwargs: Any) -> None:
        # The db object, not a session: Flask-Admin reads `db.session` at each use.
        super().__init__(model, db, **kwargs)

    def is_accessible(self) -> bool:
        return has_role(*self.roles)

    def is_visible(self) -> bool:
        return self.is_accessible()

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Any:
        return _deny()

    def _get_list_extra_args(self) -> Any:
        """Flask-Admin's list arguments, the page kept within reach: a negative page or one
        past any table's size reached PostgreSQL as an OFFSET it refuses (a 500)."""
        args = super()._get_list_extra_args()
        if args.page is not None and not 0 <= args.page <= MAX_PAGE:
            args = args.clone(page=0 if args.page < 0 else MAX_PAGE)
        if args.page_size is not None and not 0 <= args.page_size <= self.page_size:
            args = args.clone(page_size=self.page_size)
        return args

    def get_one(self, id: Any) -> Any:
        """The record, or None (Flask-Admin's "no such record") for an id its integer key
        cannot hold: "abc" or a number past the column reached PostgreSQL as a cast it
        refuses (a 500)."""
        columns = sa.inspect(self.model).primary_key
        if len(columns) == 1 and isinstance(columns[0].type, sa.Integer):
            limit = 2**63 if isinstance(columns[0].type, sa.BigInteger) else 2**31
            if not (isinstance(id, str) and _INTEGER.fullmatch(id)) or not (
                -limit <= int(id) < limit
            ):
                return None
        return super().get_one(id)

    @property
    def target_type(self) -> str:
        return self.audit_type or self.model.__tablename__

    def _failed(self, exc: Exception) -> bool:
        if isinstance(exc, AppError):
            flash(f"保存失败：{exc.message}", "error")
        elif isinstance(exc, sa.exc.IntegrityError):
            flash("保存失败：与已有记录重复或仍被其他记录引用", "error")
        elif isinstance(exc, ValueError):
            flash(f"保存失败：{exc}", "error")
        else:
            raise exc
        return False

    def create_model(self, form: Any) -> Any:
        try:
            with transaction():
                model = self.build_new_instance()
                form.populate_obj(model)
                db.session.add(model)
                self._on_model_change(form, model, True)
                db.session.flush()
                audit.record(
                    f"{self.target_type}.create",
                    self.target_type,
                    _primary_key(model),
                    None,
                    snapshot(model),
                )
        except Exception as exc:
            return self._failed(exc)
        self.after_model_change(form, model, True)
        return model

    def update_model(self, form: Any, model: Any) -> bool:
        try:
            with transaction():
                before = snapshot(model)
                form.populate_obj(model)
                self._on_model_change(form, model, False)
                db.session.flush()
                old, new = _changed(before, snapshot(model))
                audit.record(
                    f"{self.target_type}.update", self.target_type, _primary_key(model), old, new
                )
        except Exception as exc:
            return self._failed(exc)
        self.after_model_change(form, model, False)
        return True

    def delete_model(self, model: Any) -> bool:
        try:
            with transaction():
                before = snapshot(model)
                key = _primary_key(model)
                self.on_model_delete(model)
                db.session.delete(model)
                db.session.flush()
                audit.record(f"{self.target_type}.delete", self.target_type, key, before, None)
        except Exception as exc:
            return self._failed(exc)
        self.after_model_delete(model)
        return True
