"""管理员's 导入课程目录: the catalogue file the command `flask --app wsgi catalogue load` takes,
in the console. 检查 lists its errors and warnings and writes nothing, then 确认载入 loads
the checked file; 载入 loads at once. Each load is one transaction with its audit row
(the loaded text's SHA-256 in it)."""

from __future__ import annotations

import json
from typing import Any

from flask import flash, request
from flask_admin import expose
from wtforms import FileField, HiddenField

from wxapp.catalogue.loader import apply_catalogue, check_catalogue
from wxapp.catalogue.spec import CatalogueFileError
from wxapp.console import audit
from wxapp.console.access import ConsoleForm, SecuredView
from wxapp.console.admin_shared import ADMIN
from wxapp.extensions import app_now
from wxapp.infra.transaction import transaction
from wxapp.progress import relink


class CatalogueFileForm(ConsoleForm):
    file = FileField("课程目录文件（JSON，格式见 docs/catalogue-format.md）")
    # A checked file carried to its confirmation (确认载入), so it need not be chosen again.
    content = HiddenField()
    filename = HiddenField()


def _utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return ""  # refused below as "not UTF-8 JSON", like any other undecodable file


WARNINGS_SHOWN = 50  # the page lists this many warnings and counts the rest


class CatalogueLoadView(SecuredView):
    """Upload a catalogue file: 检查 shows its errors and warnings and writes nothing (then
    确认载入 loads the checked file); 载入 loads at once, showing the warnings after."""

    roles = ADMIN

    @expose("/", methods=("GET", "POST"))
    def index(self) -> Any:
        form = CatalogueFileForm(request.form)
        page: dict[str, Any] = {"errors": [], "warnings": [], "summary": None, "checked": None}
        if request.method == "POST" and form.validate():
            upload = request.files.get("file")
            if form.content.data:
                name, text = form.filename.data or "catalogue.json", form.content.data
            elif upload is not None and upload.filename:
                name, text = upload.filename, _utf8(upload.read())
            else:
                name = text = None
                flash("请选择课程目录文件", "error")
            if text is not None:
                self._check_or_load(name, text, request.form.get("action") == "check", page)
        return self.render("console/catalogue_load.html", form=form, shown=WARNINGS_SHOWN, **page)

    def _check_or_load(self, name: str, text: str, check_only: bool, page: dict) -> None:
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            page["errors"] = [("$", "文件应为 UTF-8 编码的 JSON")]
        else:
            try:
                if check_only:
                    page["warnings"] = check_catalogue(data)
                else:
                    page["warnings"], page["summary"] = self._load(name, data, text)
            except CatalogueFileError as exc:
                page["errors"] = list(exc.errors)
        count = len(page["warnings"])
        noted = f"，有 {count} 条警告（见下）" if count else ""
        if page["errors"]:
            flash(f"{name} 有 {len(page['errors'])} 处错误，未做任何更改", "error")
        elif check_only:
            flash(f"{name} 检查通过{noted}，尚未载入", "info")
            # Carried back only if well within what the confirmation's form field may hold
            # (the parser counts its read buffer too); else the file is chosen again for 载入.
            limit = request.max_form_memory_size
            carried = limit is None or len(text.encode()) <= limit // 2
            page["checked"] = {"filename": name[:200], "content": text if carried else None}
        else:
            flash(f"课程目录已载入{noted}", "success")

    def _load(self, name: str, data: Any, text: str) -> tuple[list[tuple[str, str]], str]:
        """Load it, with an audit row saying which content went in (its SHA-256)."""
        now = app_now()
        with transaction():
            summary = apply_catalogue(data, now)
            recounted = relink.recount_relinked(summary, now)
            audit.record(
                "catalogue.load",
                "catalogue",
                name[:64],
                None,
                summary.audited(text.encode()),
            )
        relink.forget_entitlements(recounted)
        return summary.warnings, summary.text()
