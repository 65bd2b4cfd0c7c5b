"""The SMS adapter (wxapp/sms/client.py, Tencent Cloud's official SDK) against the SMS sandbox
over real HTTP: a live server, the SDK's own signed request, Tencent Cloud's answers."""

import json
import logging

import pytest
import requests
from requests.adapters import BaseAdapter

from tests.conftest import free_port, serve
from tests.sms import latest_code, messages
from wxapp.sms.client import SmsUnavailable, send_sms

PHONE = "13800138002"


@pytest.fixture
def server(base_config):
    with serve(base_config) as live:
        yield live


def over_http(server, **changes):
    """The live app's settings, without the in-process shortcut: the SDK opens a socket."""
    config = {k: v for k, v in server.app.config.items() if k != "SMS_TRANSPORT"}
    config.update(changes)
    return config


def test_the_sdk_sends_through_the_sandbox_over_http(server):
    config = over_http(server)
    assert config["SMS_API_BASE"] == server.url + "/_sandbox/sms/api"
    sent = send_sms(config, PHONE, config["SMS_TEMPLATE_REGISTER"], ["246810", "5"])
    assert sent.serial_no and sent.request_id
    assert latest_code(server.url, PHONE) == "246810"
    item = messages(server.url, PHONE)[0]
    assert item["sign_name"] == config["SMS_SIGN_NAME"]
    assert item["template_id"] == config["SMS_TEMPLATE_REGISTER"]
    assert item["text"] == (
        "【重庆继续教育】您的验证码为 246810，5分钟内有效，用于注册继续教育培训账号。"
        "请勿泄露给他人，如非本人操作请忽略。"
    )
    page = requests.get(server.url + "/_sandbox/sms", params={"phone": PHONE}, timeout=10)
    assert page.status_code == 200 and "您的验证码为 246810" in page.text


class Capture(BaseAdapter):
    """Keeps the request the SDK would send, and answers like Tencent Cloud."""

    def __init__(self):
        super().__init__()
        self.request = None

    def send(self, request, **kwargs):
        self.request = request
        res = requests.Response()
        res.status_code = 200
        res.headers["Content-Type"] = "application/json"
        res._content = json.dumps(
            {"Response": {"SendStatusSet": [{"Code": "Ok", "SerialNo": "1"}], "RequestId": "r"}}
        ).encode()
        return res

    def close(self):
        pass


def signed_request(server):
    capture = Capture()
    config = over_http(server, SMS_TRANSPORT=capture)
    send_sms(config, PHONE, config["SMS_TEMPLATE_RESET"], ["135790", "5"])
    return capture.request


def replay(server, req, body=None, headers=None):
    return requests.post(
        req.url,
        data=body if body is not None else req.body,
        headers={**req.headers, **(headers or {})},
        timeout=10,
    ).json()["Response"]


def test_the_sandbox_checks_the_sdk_signature(server):
    req = signed_request(server)
    assert req.url == server.url + "/_sandbox/sms/api"
    assert req.headers["Host"] == server.url.removeprefix("http://")
    assert req.headers["Authorization"].startswith("TC3-HMAC-SHA256 Credential=")
    ok = replay(server, req)
    assert ok["SendStatusSet"][0]["Code"] == "Ok" and ok["RequestId"]
    assert latest_code(server.url, PHONE) == "135790"


def test_a_wrong_signature_is_refused(server):
    req = signed_request(server)
    body = req.body.decode() if isinstance(req.body, bytes) else req.body
    tampered = body.replace(PHONE, "13900000000")
    assert tampered != body
    res = replay(server, req, body=tampered)
    assert res["Error"]["Code"] == "AuthFailure.SignatureFailure" and res["RequestId"]
    assert messages(server.url, "13900000000") == []
    forged = req.headers["Authorization"][:-8] + "00000000"
    res = replay(server, req, headers={"Authorization": forged})
    assert res["Error"]["Code"] == "AuthFailure.SignatureFailure"
    assert messages(server.url, PHONE) == []


def test_a_wrong_secret_is_a_503(server, caplog):
    config = over_http(server, TENCENTCLOUD_SECRET_KEY="not-the-secret")
    with caplog.at_level(logging.ERROR), pytest.raises(SmsUnavailable) as err:
        send_sms(config, PHONE, config["SMS_TEMPLATE_RESET"], ["111111", "5"])
    assert err.value.status == 503 and err.value.message == "短信服务暂时不可用，请稍后再试"
    assert "AuthFailure.SignatureFailure" in caplog.text
    assert messages(server.url, PHONE) == []


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"SMS_SDK_APP_ID": "1400999999"}, "UnauthorizedOperation.SmsSdkAppIdVerifyFail"),
        ({"SMS_SIGN_NAME": "别的签名"}, "FailedOperation.SignatureIncorrectOrUnapproved"),
        ({"TENCENTCLOUD_SECRET_ID": "AKIDother"}, "AuthFailure.SecretIdNotFound"),
    ],
)
def test_the_sandbox_validates_the_request(server, caplog, changes, code):
    config = over_http(server, **changes)
    with caplog.at_level(logging.ERROR), pytest.raises(SmsUnavailable):
        send_sms(config, PHONE, config["SMS_TEMPLATE_RESET"], ["111111", "5"])
    assert code in caplog.text


def test_an_unknown_template_or_bad_number_is_a_503(server, caplog):
    config = over_http(server)
    with caplog.at_level(logging.ERROR), pytest.raises(SmsUnavailable):
        send_sms(config, PHONE, "999999", ["111111", "5"])
    assert "FailedOperation.TemplateIncorrectOrUnapproved" in caplog.text
    with caplog.at_level(logging.ERROR), pytest.raises(SmsUnavailable):
        send_sms(config, "1380013", config["SMS_TEMPLATE_RESET"], ["111111", "5"])
    assert "InvalidParameterValue.IncorrectPhoneNumber" in caplog.text


def test_an_unreachable_sms_service_is_a_503_within_the_timeout(server):
    config = over_http(server, SMS_API_BASE=f"http://127.0.0.1:{free_port()}/sms")
    with pytest.raises(SmsUnavailable):
        send_sms(config, PHONE, config["SMS_TEMPLATE_RESET"], ["111111", "5"], timeout=2)


def test_a_login_page_flow_reads_the_code_from_the_live_sandbox(server):
    """The app's own send goes through the in-process transport; the inbox is the same."""
    res = requests.post(
        server.url + "/api/password/forgot/code", json={"username": "13712340000"}, timeout=10
    )
    assert res.status_code == 200 and res.json()["phone_tail"] == "0000"
    assert latest_code(server.url, "13712340000") is None  # nobody has that phone
