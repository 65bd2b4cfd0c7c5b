"""Fixtures shared by the API tests."""

import pytest

from tests.wechat_wire import WeChat


@pytest.fixture(params=["plain", "aes"])
def wechat(request, app, client):
    """WeChat calling /wechat, once in plain mode and once in AES (safe) mode."""
    cfg = app.config
    return WeChat(
        client,
        cfg["WECHAT_TOKEN"],
        cfg["WECHAT_AES_KEY"],
        cfg["WECHAT_APP_ID"],
        aes=request.param == "aes",
    )
