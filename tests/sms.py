"""Reading SMS codes the way a person does: from the sandbox's inbox (/_sandbox/sms).

`latest_code(client_or_base_url, phone)` takes a Flask test client (or an app) or a live
server's base URL ("http://127.0.0.1:5xxx") and returns the 6-digit code of the newest
message `phone` received, or None.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any
from urllib.parse import quote


def messages(client_or_base_url: Any, phone: str) -> list[dict[str, Any]]:
    """The messages `phone` received, newest first, as the sandbox's JSON endpoint lists them."""
    path = f"/_sandbox/sms/messages?phone={quote(phone)}"
    if isinstance(client_or_base_url, str):
        with urllib.request.urlopen(client_or_base_url.rstrip("/") + path, timeout=10) as res:
            return json.loads(res.read())["items"]
    client = client_or_base_url
    if hasattr(client, "test_client"):  # an app
        client = client.test_client()
    res = client.get(path)
    assert res.status_code == 200, res.get_data(as_text=True)
    return res.json["items"]


def latest_code(client_or_base_url: Any, phone: str) -> str | None:
    items = messages(client_or_base_url, phone)
    return items[0]["params"][0] if items else None
