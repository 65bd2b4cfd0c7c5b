"""Flask's Request, with a JSON body nested too deeply answered as bad input.

The JSON parser recurses once per `[` or `{`: a body of a few thousand of them raises
RecursionError, which werkzeug does not treat as malformed JSON (it catches ValueError
only), so every JSON route answered it with a 500. Here it is a 422 naming the body.
"""

from __future__ import annotations

from typing import Any

from flask import Request

from wxapp.errors import ValidationError

TOO_DEEP_MESSAGE = "请求体 JSON 嵌套层数过多"


class JsonRequest(Request):
    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        try:
            return super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            raise ValidationError("body", TOO_DEEP_MESSAGE, code="too_deep") from None
