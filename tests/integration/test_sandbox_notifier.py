"""The sandbox retries a refused pay notification on WeChat Pay's schedule (shortened here),
each attempt signed with the platform key and encrypted with the APIv3 key."""

from __future__ import annotations

import base64
import json
import threading
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests import paysign
from tests.conftest import free_port
from wxapp.sandbox.pay_notifier import RETRY_WAITS_S, send_notification


def test_a_refused_notification_is_retried_until_answered(app):
    app.config["SANDBOX_PAY_NOTIFY_SCALE"] = 0.001
    received: list[tuple[dict, bytes]] = []

    @Request.application
    def merchant(request: Request) -> Response:
        received.append((dict(request.headers), request.get_data()))
        return Response(status=500 if len(received) <= 2 else 204)

    port = free_port()
    server = make_server("127.0.0.1", port, merchant, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        tx = paysign.transaction("20250616100000000000000001", 9000, app)
        send_notification(app, f"http://127.0.0.1:{port}/pay/notify", tx)
        deadline = time.monotonic() + 15
        while len(received) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # an answered notification is not sent again
    finally:
        server.shutdown()
        thread.join(5)
    assert len(received) == 3
    public_key = paysign.platform_key(app).public_key()
    for headers, body in received:
        assert headers["Wechatpay-Serial"] == app.config["WECHATPAY_PUBLIC_KEY_ID"]
        message = (
            f"{headers['Wechatpay-Timestamp']}\n{headers['Wechatpay-Nonce']}\n".encode()
            + body
            + b"\n"
        )
        public_key.verify(
            base64.b64decode(headers["Wechatpay-Signature"]),
            message,
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
        resource = json.loads(body)["resource"]
        plain = AESGCM(app.config["WECHATPAY_APIV3_KEY"].encode()).decrypt(
            resource["nonce"].encode(),
            base64.b64decode(resource["ciphertext"]),
            resource["associated_data"].encode(),
        )
        assert json.loads(plain) == tx
    assert len({body for _, body in received}) == 1  # the same notification each time


def test_the_schedule_is_wechat_pays():
    assert RETRY_WAITS_S[:4] == (15, 15, 30, 180)
    assert sum(RETRY_WAITS_S) == 24 * 3600 + 4 * 60  # 24 h 4 min in all
