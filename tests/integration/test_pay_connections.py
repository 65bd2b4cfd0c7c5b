"""Calls to WeChat Pay reuse a kept-alive connection instead of a new TCP (and, in
production, TLS) handshake each: wechatpayv3 on its own opens one per call."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import free_port, make_app
from wxapp.pay.client import PayGatewayError, get_wechatpay


def keep_alive_server(app, port: int, ports: list[int]) -> ThreadingHTTPServer:
    """The app behind an HTTP/1.1 server that keeps connections open, as WeChat Pay does
    (werkzeug's development server closes each one); the client port of each request."""
    client = app.test_client()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            ports.append(self.client_address[1])
            reply = client.get(self.path, headers=dict(self.headers))
            self.send_response(reply.status_code)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.data)

        def log_message(self, *args) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", port), Handler)


@pytest.fixture
def pay_server(base_config):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = make_app(base_config, PUBLIC_BASE_URL=url, WECHATPAY_API_BASE=url + "/_sandbox")
    ports: list[int] = []
    server = keep_alive_server(app, port, ports)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, ports
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
        app.extensions["redis"].close()


# wechatpayv3's own per-call sessions leave their sockets to the garbage collector: let the
# old behaviour reach the assertion below rather than stop at that warning
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_calls_to_wechat_pay_share_one_connection(pay_server):
    app, ports = pay_server
    with app.app_context():
        client = get_wechatpay()
        for no in (
            "20261129000000000000000001",
            "20261129000000000000000002",
            "20261129000000000000000003",
        ):
            with pytest.raises(PayGatewayError, match="订单不存在|ORDER_NOT_EXIST|不存在"):
                client.call("query", out_trade_no=no)
    assert len(ports) == 3
    assert len(set(ports)) == 1, f"each call opened a connection of its own: ports {ports}"
