"""The one error hierarchy of the app, and the handlers that turn it into JSON.

Every domain failure is an `AppError` with a machine code and a Chinese message the page
can show. The WeChat callback and the pay notification answer in WeChat's own formats
through their blueprints' handlers; everything else answers
`{"error": code, "message": 中文}` (plus `field` for validation errors).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, render_template, request
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names it (raised at start-up)."""


class AppError(Exception):
    status = 400
    code = "bad_request"
    message = "请求有误"

    def __init__(self, message: str | None = None, *, code: str | None = None, **extra: Any):
        super().__init__(message or self.message)
        self.message = message or self.message
        if code:
            self.code = code
        self.extra = extra

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.extra}


# What the pages call the fields of the JSON API, for the messages that name one (the JSON
# keeps the key itself in `field`, for the page to find the input).
FIELD_LABELS = {
    "archive_district": "档案所在区县",
    "chapter_id": "章节",
    "check_id": "学习检查",
    "course_id": "课程",
    "district": "区县",
    "from": "播放起点",
    "id_number": "身份证号码",
    "id_numbers": "身份证号码",
    "kind": "科目类别",
    "limit": "条数",
    "name": "姓名",
    "new_password": "新密码",
    "offset": "起始位置",
    "old_password": "原密码",
    "page": "页码",
    "password": "密码",
    "per_page": "每页条数",
    "phone": "手机号",
    "plan_id": "培训项目",
    "play_id": "播放编号",
    "position": "播放位置",
    "q": "搜索内容",
    "reason": "理由",
    "seq": "序号",
    "sms_code": "短信验证码",
    "state": "学习状态",
    "title": "发票抬头",
    "title_type": "抬头类型",
    "tax_number": "税号",
    "to": "播放终点",
    "unit_id": "单位",
    "username": "用户名",
    "year": "年度",
}


def field_label(field: str) -> str:
    """The field as a page names it ("年度"); an unlisted key as "字段 <key>"."""
    return FIELD_LABELS.get(field.rsplit(".", 1)[-1]) or f"字段 {field}"


class ValidationError(AppError):
    """Bad input: names the field at fault."""

    status = 422
    code = "invalid"

    def __init__(self, field: str, message: str, *, code: str | None = None, **extra: Any):
        super().__init__(message, code=code, field=field, **extra)
        self.field = field


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"
    message = "请先登录"


class Forbidden(AppError):
    status = 403
    code = "forbidden"
    message = "没有权限"


class NotFound(AppError):
    status = 404
    code = "not_found"
    message = "不存在"


class Conflict(AppError):
    status = 409
    code = "conflict"
    message = "当前状态不允许该操作"


class TooManyRequests(AppError):
    status = 429
    code = "too_many_requests"
    message = "操作过于频繁，请稍后再试"


class ServiceUnavailable(AppError):
    status = 503
    code = "unavailable"
    message = "服务暂时不可用，请稍后再试"


HTTP_MESSAGES = {
    400: ("bad_request", "请求有误"),
    401: ("unauthorized", "请先登录"),
    403: ("forbidden", "没有权限"),
    404: ("not_found", "页面或资源不存在"),
    405: ("method_not_allowed", "不支持该请求方式"),
    413: ("too_large", "请求内容过大"),
    415: ("unsupported_media_type", "请求格式不支持"),
    429: ("too_many_requests", "操作过于频繁，请稍后再试"),
}


def http_error_body(err: HTTPException) -> tuple[int, dict[str, str]]:
    """A werkzeug HTTP error (404, 405, 413...) as the JSON body /api/ answers with."""
    status = err.code or 500
    code, message = HTTP_MESSAGES.get(status, ("error", err.description or "请求失败"))
    return status, {"error": code, "message": message}


def unexpected_error_body(err: Exception, method: str, path: str) -> tuple[int, dict[str, str]]:
    """A failure no handler expected: 503 when PostgreSQL or Redis is down or hung (a timeout),
    else 500. Logged."""
    if isinstance(err, OperationalError | RedisConnectionError | RedisTimeoutError):
        log.error("backing service unavailable: %s", err)
        return 503, {"error": "unavailable", "message": ServiceUnavailable.message}
    log.error("unhandled error on %s %s", method, path, exc_info=err)
    return 500, {"error": "internal", "message": "系统繁忙，请稍后再试"}


def _wants_page() -> bool:
    """A browser opening a page (not /api/): it gets the error as a page, not JSON."""
    return not request.path.startswith("/api/") and request.accept_mimetypes.accept_html


def _error_page(message: str) -> str:
    """A page in Chinese in the H5 shell's look, with a way back to the home page."""
    return render_template(
        "h5/message.html",
        title=message,
        title_id="http-error",
        advice="请检查链接是否完整，或返回首页重新进入。",
        home=True,
        help="咨询电话：400-023-9229",
    )


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(AppError)
    def _app_error(err: AppError):
        if request.method == "GET" and _wants_page():
            return _error_page(err.message), err.status  # e.g. someone else's certificate
        return jsonify(err.to_dict()), err.status

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        status, body = http_error_body(err)
        if _wants_page():
            # Not werkzeug's English "Not Found".
            kept = [(k, v) for k, v in err.get_headers() if k.lower() != "content-type"]
            return _error_page(body["message"]), status, kept  # Allow, Retry-After... kept
        return jsonify(body), status

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        status, body = unexpected_error_body(err, request.method, request.path)
        return jsonify(body), status
