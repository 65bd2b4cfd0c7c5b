"""Request parsing: JSON bodies and typed fields, each failure a 422 naming the field."""

from __future__ import annotations

import math
from typing import Any

from flask import request

from wxapp.errors import ValidationError, field_label
from wxapp.infra.texts import storable

ROW_ID_MAX = 2**31 - 1  # primary keys are 32-bit integers in PostgreSQL

_MISSING = object()


def json_body() -> dict[str, Any]:
    return json_object(request.get_json(silent=True))


def json_object(body: Any) -> dict[str, Any]:
    """A parsed request body that must be a JSON object, or a 422 naming the body."""
    if not isinstance(body, dict):
        raise ValidationError("body", "请求体必须是 JSON 对象")
    return body


def _get(body: dict[str, Any], field: str, required: bool) -> Any:
    value = body.get(field, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise ValidationError(field, f"缺少{field_label(field)}", code="missing")
        return None
    return value


def string(
    body: dict[str, Any],
    field: str,
    *,
    required: bool = True,
    max_len: int = 200,
    strip: bool = True,
) -> str | None:
    value = _get(body, field, required)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(field, f"{field_label(field)}应为文字")
    if not storable(value):
        raise ValidationError(field, f"{field_label(field)}含有不允许的字符")
    if strip:
        value = value.strip()
    if required and not value:
        raise ValidationError(field, f"{field_label(field)}不能为空", code="missing")
    if len(value) > max_len:
        raise ValidationError(field, f"{field_label(field)}过长（最多 {max_len} 个字符）")
    return value


def integer(
    body: dict[str, Any],
    field: str,
    *,
    required: bool = True,
    low: int | None = None,
    high: int | None = None,
) -> int | None:
    value = _get(body, field, required)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, f"{field_label(field)}应为整数")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValidationError(field, f"{field_label(field)}超出范围")
    return value


def row_id(body: dict[str, Any], field: str, *, required: bool = True) -> int | None:
    """An id of a row sent in the body: past 32 bits PostgreSQL would refuse it with a 500."""
    return integer(body, field, required=required, low=1, high=ROW_ID_MAX)


EXACT_FLOAT_INT = 2**53


def number(
    body: dict[str, Any], field: str, *, required: bool = True, low: float | None = None
) -> float | None:
    value = _get(body, field, required)
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        # an integer past 2^53 has no exact float (past about 10^308, none: OverflowError)
        or (isinstance(value, int) and abs(value) > EXACT_FLOAT_INT)
        or not math.isfinite(value)
    ):
        raise ValidationError(field, f"{field_label(field)}应为数字")
    if low is not None and value < low:
        raise ValidationError(field, f"{field_label(field)}不能小于 {low}")
    return float(value)


def query_int(
    name: str, *, default: int | None = None, low: int | None = None, high: int | None = None
) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError(name, f"{field_label(name)}应为整数") from None
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValidationError(name, f"{field_label(name)}超出范围")
    return value


def query_string(name: str, *, max_len: int = 100) -> str | None:
    """A free-text query parameter, stripped and cut to `max_len`; empty means absent."""
    value = (request.args.get(name) or "").strip()[:max_len]
    if not storable(value):
        raise ValidationError(name, f"{field_label(name)}含有不允许的字符")
    return value or None
