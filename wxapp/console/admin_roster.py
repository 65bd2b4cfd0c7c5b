"""管理员's 导入单位名单: the roster upload `flask --app wsgi trainees import FILE` takes, in
the console, in two steps.

1. Upload: the file is read and every row checked (`wxapp.accounts.roster_import.
   check_roster`), nothing written. The page lists each bad row with its row number, field
   and reason, and offers them as an errors file; the upload waits in Redis for the
   confirmation (30 minutes, for this operator only, under a random token: the name it
   was uploaded under is shown, never used on disk).
2. Confirm: the same file goes through `import_roster`, the command's own code, with the
   audit row in its transaction. As with the command, the good rows are registered in one
   transaction and the bad ones are not (they are listed again); an already registered
   trainee is never changed. One confirmation runs at a time per upload, and the upload is
   used up only by an import that succeeded: after a failed one (someone registered one of
   its people meanwhile) the page offers to confirm the same upload again, which checks it
   anew.

Only 管理员 imports: an import creates accounts (and units) in bulk, like the catalogue
upload and the 单位 and 单位管理员 views, which are 管理员's too; 客服 works one trainee
at a time. Limits: MAX_BYTES per file and MAX_ROWS trainees, more than a unit's roster
needs; larger files are for the command.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path
from typing import Any

from flask import current_app, flash, redirect, request, url_for
from flask_admin import expose
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import FileField

from wxapp.accounts.roster import RosterFileError, RowError
from wxapp.accounts.roster_import import check_roster, import_roster, write_errors
from wxapp.accounts.units import similar_units
from wxapp.console import audit
from wxapp.console.access import ConsoleForm, SecuredView, current_operator, require_csrf
from wxapp.console.admin_shared import ADMIN
from wxapp.extensions import app_now
from wxapp.infra import xlsx
from wxapp.infra.transaction import transaction

MAX_BYTES = 1024 * 1024  # an Excel roster of 10,000 people is about 0.5 MB
MAX_ROWS = 10_000
# What the sheet may hold beyond its trainees (title, 区县 and 单位 lines, header, blanks).
SHEET_SLACK = 200
# An .xlsx is a zip: what it unpacks to is bounded too (a small file can unpack to gigabytes).
MAX_UNPACKED = 16 * 1024 * 1024  # a roster of 10,000 people unpacks to about 4 MB
UPLOAD_TTL_S = 30 * 60
IMPORT_LOCK_S = 10 * 60  # longer than an import of MAX_ROWS takes; freed when it ends
LINES_SHOWN = 200  # bad rows listed on the page; the errors file lists every one
VALUE_SHOWN = 50  # characters of a bad cell shown
_TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")
DISK_NAME = "名单.xlsx"  # the upload's bytes on disk, in a directory of its own

# The field each reason code is about (wxapp.accounts.roster's Problem codes).
FIELDS = (
    ("duplicate_id", "id_number", "身份证号码"),
    ("duplicate_phone", "phone", "手机号码"),
    ("name", "name", "姓名"),
    ("id", "id_number", "身份证号码"),
    ("phone", "phone", "手机号码"),
    ("gender", "gender", "性别"),
    ("note", "note", "备注"),
)


def _cut(text: str) -> str:
    return text if len(text) <= VALUE_SHOWN else text[:VALUE_SHOWN] + "…"


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def too_many() -> str:
    return (
        f"名单超过 {MAX_ROWS} 行，网页导入每次最多 {MAX_ROWS} 人：请拆分成几个文件分别导入"
        "（更大的名单可由技术人员用命令 flask trainees import 导入）"
    )


def too_large() -> str:
    return (
        f"文件过大：网页导入的名单最大 {_mb(MAX_BYTES)}（约 {MAX_ROWS} 人），未做任何更改。"
        "请拆分成几个文件分别导入"
    )


def shown_name(filename: str) -> str:
    """The upload's name as the page shows it: its last part, at most 100 characters."""
    return re.split(r"[\\/]", filename)[-1][:100] or "未命名文件"


def bad_rows(errors: list[RowError]) -> list[dict[str, Any]]:
    """One line per problem: row number, field, what was typed there (cut at VALUE_SHOWN
    characters), and why. The page shows the first LINES_SHOWN; the errors file has all."""
    lines = []
    for error in errors:
        for problem in error.problems:
            key, label = next(
                ((key, label) for start, key, label in FIELDS if problem.code.startswith(start)),
                ("", "整行"),
            )
            lines.append(
                {
                    "row": error.row.row,
                    "field": label,
                    "value": _cut(getattr(error.row, key)) if key else "",
                    "message": problem.message,
                }
            )
    return lines


class _RowLimit:
    """Stops reading a sheet past MAX_ROWS trainees (told by the sheet's size, or as read)."""

    def __call__(self, done: int, total: int) -> None:
        if max(done, total) > MAX_ROWS + SHEET_SLACK:
            raise RosterFileError(too_many())


def _refuse_zip_bomb(data: bytes) -> None:
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError):
        return  # not a zip at all: read_roster says it is not an .xlsx
    if unpacked > MAX_UNPACKED:
        raise RosterFileError(f"文件解压后超过 {_mb(MAX_UNPACKED)}，不像是一份单位名单，未读取")


@contextmanager
def _on_disk(data: bytes) -> Iterator[Path]:
    """The bytes as a file under a fixed name in a new private directory, removed after."""
    _refuse_zip_bomb(data)
    with tempfile.TemporaryDirectory(prefix="roster-") as folder:
        path = Path(folder) / DISK_NAME
        path.write_bytes(data)
        yield path


def _problem(exc: RosterFileError) -> str:
    """The reason, without the name the bytes had on disk (the page names the upload)."""
    return str(exc).replace(f" {DISK_NAME}", "")


def _key(operator_id: int, token: str) -> str:
    # One key, never named with another in a script or MULTI (any Redis Cluster slot will do).
    return f"console:roster:{operator_id}:{token}"


def _keep(operator_id: int, upload: dict[str, Any]) -> str:
    token = secrets.token_urlsafe(16)
    current_app.extensions["redis"].set(
        _key(operator_id, token), json.dumps(upload), ex=UPLOAD_TTL_S
    )
    return token


def _kept(operator_id: int, token: str) -> dict[str, Any] | None:
    if not _TOKEN.fullmatch(token):
        return None
    raw = current_app.extensions["redis"].get(_key(operator_id, token))
    return json.loads(raw) if raw else None


@contextmanager
def _importing(operator_id: int, token: str) -> Iterator[bool]:
    """Whether this request may import the upload: one at a time (a second click or tab
    meanwhile is told to wait). The upload stays kept until an import succeeds, so that
    after a failed one (someone registered one of its people meanwhile) the same upload
    can be confirmed again."""
    r = current_app.extensions["redis"]
    lock = _key(operator_id, token) + ":importing"  # its own key: no multi-key command
    claimed = bool(r.set(lock, "1", nx=True, ex=IMPORT_LOCK_S))
    try:
        yield claimed
    finally:
        if claimed:
            r.delete(lock)


def _consume(operator_id: int, token: str) -> None:
    current_app.extensions["redis"].delete(_key(operator_id, token))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class RosterFileForm(ConsoleForm):
    file = FileField("单位名单（.xlsx，附件2《学员注册名单》格式）")


class RosterImportView(SecuredView):
    roles = ADMIN

    def create_blueprint(self, admin: Any) -> Any:
        blueprint = super().create_blueprint(admin)
        # A body over the app's MAX_CONTENT_LENGTH is refused before the view runs: the
        # operator still gets this page and the limit, not a bare 请求内容过大.
        blueprint.register_error_handler(RequestEntityTooLarge, self._too_large)
        return blueprint

    def _too_large(self, err: RequestEntityTooLarge) -> Any:
        if not self.is_accessible():
            return err  # the bare 413: nothing of this page for whoever may not open it
        return self._page(RosterFileForm(), 413, problem=too_large())

    def _page(self, form: Any, status: int = 200, **context: Any) -> Any:
        html = self.render(
            "console/roster_import.html",
            form=form,
            lines_shown=LINES_SHOWN,
            max_rows=MAX_ROWS,
            max_size=_mb(MAX_BYTES),
            ttl_minutes=UPLOAD_TTL_S // 60,
            **context,
        )
        return html, status

    @expose("/", methods=("GET", "POST"))
    def index(self) -> Any:
        form = RosterFileForm(request.form)
        if request.method != "POST":
            return self._page(form)
        if not form.validate():
            return self._page(form, 400, problem="页面已过期，请刷新后重新上传")
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            return self._page(form, problem="请选择单位名单文件（.xlsx）")
        name = shown_name(upload.filename)
        data = upload.stream.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            return self._page(form, problem=too_large(), name=name)
        if not data:
            return self._page(form, problem="文件是空的，请选择填好的单位名单", name=name)
        try:
            with _on_disk(data) as path:
                checked = check_roster(path, _RowLimit())
                if checked.result.rows > MAX_ROWS:
                    raise RosterFileError(too_many())
                errors_file = None
                if checked.result.errors:
                    write_errors(path.with_name("errors.xlsx"), checked.result.errors)
                    errors_file = path.with_name("errors.xlsx").read_bytes()
        except RosterFileError as exc:
            return self._page(form, problem=_problem(exc), name=name)
        result = checked.result
        operator = current_operator()
        assert operator is not None  # the view is open to a signed-in 管理员 only
        token = _keep(
            operator.id,
            {
                "name": name,
                "unit": result.unit_name,
                "file": _b64(data),
                "errors": _b64(errors_file) if errors_file else None,
            },
        )
        return self._page(
            form,
            name=name,
            preview=result,
            fresh=len(checked.fresh),
            unit_exists=checked.unit is not None,
            similar=[] if checked.unit else similar_units(result.unit_name, result.district),
            lines=bad_rows(result.errors),
            token=token,
        )

    @expose("/confirm", methods=("POST",))
    def confirm(self) -> Any:
        require_csrf()
        operator = current_operator()
        assert operator is not None
        token = request.form.get("token", "")
        if not _TOKEN.fullmatch(token):
            return self._import(operator.id, token)  # no such upload, said as for a spent one
        with _importing(operator.id, token) as claimed:
            if not claimed:
                flash("这份名单正在导入，请稍候刷新页面查看结果，不要重复提交", "error")
                return redirect(url_for(".index"))
            return self._import(operator.id, token)

    def _import(self, operator_id: int, token: str) -> Any:
        kept = _kept(operator_id, token)
        if kept is None:
            flash(f"这份名单已经导入，或上传已超过 {UPLOAD_TTL_S // 60} 分钟：请重新上传", "error")
            return redirect(url_for(".index"))
        data = base64.b64decode(kept["file"])
        try:
            with _on_disk(data) as path, transaction():
                result = import_roster(path, app_now(), _RowLimit())
                audit.record(
                    "trainees.import",
                    "units",
                    result.unit_id,
                    None,
                    result.audited(kept["name"], data),
                )
        except RosterFileError as exc:
            return self._page(
                RosterFileForm(),
                problem=f"未导入任何学员：{_problem(exc)}",
                name=kept["name"],
                retry=token,
            )
        _consume(operator_id, token)
        return self._page(
            RosterFileForm(),
            name=kept["name"],
            done=result,
            lines=bad_rows(result.errors),
        )

    @expose("/errors/<token>")
    def errors(self, token: str) -> Any:
        operator = current_operator()
        assert operator is not None
        kept = _kept(operator.id, token)
        if kept is None or not kept.get("errors"):
            flash(
                f"错误文件只在确认导入前、上传后 {UPLOAD_TTL_S // 60} 分钟内可下载：请重新上传名单",
                "error",
            )
            return redirect(url_for(".index"))
        filename = f"{kept['unit']}名单错误行.xlsx"
        return xlsx.download(base64.b64decode(kept["errors"]), filename)
