"""The deploy file's nginx rules the app's trust depends on (make test-cluster runs it).

The app takes the client's address and host from X-Forwarded-For and X-Forwarded-Host
(PROXY_COUNT=1), so every location that reaches it must replace what a client sent; and a
request a node did receive must not be sent to the other one.
"""

from __future__ import annotations

import re
from pathlib import Path

CONF = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "wxapp.conf"


def locations() -> dict[str, str]:
    """Each location block's text, by its path."""
    text = re.sub(r"#[^\n]*", "", CONF.read_text())
    return {
        m.group(1).strip(): m.group(2) for m in re.finditer(r"location\s+([^{]+)\{([^}]*)\}", text)
    }


def test_every_location_reaching_the_app_replaces_the_forwarding_headers():
    proxied = {path: body for path, body in locations().items() if "proxy_pass" in body}
    assert {"= /metrics", "/admin", "/"} <= proxied.keys()
    for path, body in proxied.items():
        for header, value in (
            ("X-Forwarded-For", "$proxy_add_x_forwarded_for"),
            ("X-Forwarded-Host", "$host"),
            ("X-Forwarded-Proto", "$scheme"),
        ):
            assert re.search(rf"proxy_set_header\s+{header}\s+{re.escape(value)};", body), (
                path,
                header,
            )


def test_only_requests_a_node_could_not_take_go_to_the_other_node():
    (rule,) = re.findall(r"proxy_next_upstream\s+([^;]+);", CONF.read_text())
    assert set(rule.split()) == {"error", "timeout"}  # no http_503, never non_idempotent
