"""Tencent Cloud SMS as the sandbox plays it: SendSms (API 2021-01-11) over real HTTP.

SMS_API_BASE points here in sandbox mode (`/_sandbox/sms/api`), so the app's real client,
Tencent Cloud's SDK, runs unchanged against it. Each call is checked as Tencent Cloud
checks it: the TC3-HMAC-SHA256 `Authorization` (recomputed with the sandbox's
TENCENTCLOUD_SECRET_KEY over the method, path, content-type, host and the body's sha256),
the timestamp (5 minutes either way), the action and version, then SmsSdkAppId, SignName,
TemplateId and the numbers ("+86" and 11 digits). Answers have Tencent Cloud's shape:
`{"Response": {"SendStatusSet": [...], "RequestId"}}`, or `{"Response": {"Error": {"Code",
"Message"}, "RequestId"}}`, always HTTP 200, as Tencent Cloud answers API errors.

Messages are kept per phone in Redis: people read them at `/_sandbox/sms` (each phone's
inbox), tests at `/_sandbox/sms/messages?phone=` (newest first; a code is params[0]).
`/_sandbox/sms/switches` makes the next sends fail (`{"fail": "<Tencent error code>",
"times": n}`) or every answer slow, as a provider timing out is (`{"delay_ms": n}`, up to
20,000); `{"reset": true}` clears both.

When SMS_API_BASE is this sandbox's own URL, the app's SDK client is given a transport that
hands its request to the app in-process (`WsgiTransport`): the same request, signature and
answer, without a socket, so a single-threaded server (or a test client) can call itself.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import Blueprint, Flask, current_app, jsonify, render_template, request
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from werkzeug.test import EnvironBuilder

from wxapp.config import SMS_TEMPLATES
from wxapp.extensions import app_now, get_redis

bp = Blueprint("sandbox_sms", __name__, url_prefix="/_sandbox/sms", template_folder="templates")

K_MESSAGES = "sandbox:sms:msgs:"  # + phone: a list, newest first
K_PHONES = "sandbox:sms:phones"  # phone -> time of its last message (a sorted set)
K_FAIL = "sandbox:sms:fail"  # {code, times}
K_DELAY = "sandbox:sms:delay"  # ms each answer waits
MAX_DELAY_MS = 20_000
KEEP = 50  # messages kept per phone
SIGNATURE_MAX_AGE_S = 300
ACTION, VERSION, SERVICE = "SendSms", "2021-01-11", "sms"
PHONE_RE = re.compile(r"^\+861\d{10}$")

# The text of each sandbox template, by the setting that names it: a verification code's
# {1} the code, {2} minutes; the notice of a replaced phone's {1} who, {2} the new phone masked.
TEXTS = {
    "SMS_TEMPLATE_ACTIVATE": "您的验证码为 {1}，{2}分钟内有效，用于激活继续教育培训账号。请勿泄露给他人，如非本人操作请忽略。",
    "SMS_TEMPLATE_REGISTER": "您的验证码为 {1}，{2}分钟内有效，用于注册继续教育培训账号。请勿泄露给他人，如非本人操作请忽略。",
    "SMS_TEMPLATE_RESET": "您的验证码为 {1}，{2}分钟内有效，用于找回继续教育培训账号的密码。请勿泄露给他人，如非本人操作请忽略。",
    "SMS_TEMPLATE_REBIND": "您的验证码为 {1}，{2}分钟内有效，用于将账号绑定到新的微信。请勿泄露给他人，如非本人操作请忽略。",
    "SMS_TEMPLATE_PHONE": "您的验证码为 {1}，{2}分钟内有效，用于更换账号绑定的手机号。请勿泄露给他人，如非本人操作请忽略。",
    "SMS_TEMPLATE_PHONE_CHANGED": "您的继续教育培训账号绑定的手机号已由{1}更换为 {2}。如非本人申请，请立即致电 400-023-9229。",
}
assert set(TEXTS) == set(SMS_TEMPLATES)

MESSAGES = {
    "AuthFailure.SignatureFailure": "The provided credentials could not be validated. Please check your signature is correct.",
    "AuthFailure.SignatureExpire": "Signature expired. Timestamp and server time are too far apart.",
    "AuthFailure.SecretIdNotFound": "The SecretId is not found, please ensure that your SecretId is correct.",
    "AuthFailure.InvalidAuthorization": "The Authorization header is invalid.",
    "InvalidAction": "The action requested was invalid or not found.",
    "InvalidParameter": "The request body is not valid JSON, or a parameter is missing.",
    "UnauthorizedOperation.SmsSdkAppIdVerifyFail": "SmsSdkAppId verification failed.",
    "FailedOperation.SignatureIncorrectOrUnapproved": "Signature format is wrong or signature is not approved.",
    "FailedOperation.TemplateIncorrectOrUnapproved": "Template format is wrong or template is not approved.",
    "InvalidParameterValue.TemplateParameterFormatError": "The template parameters do not match the template.",
    "InvalidParameterValue.IncorrectPhoneNumber": "Incorrect phone number.",
    "LimitExceeded.PhoneNumberDailyLimit": "The number of SMS messages sent from a single mobile number every day exceeds the upper limit.",
    "InternalError.Timeout": "Request timed out.",
}


# --- Tencent Cloud's request signature (TC3-HMAC-SHA256) ---------------------------------


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def tc3_signature(
    secret_key: str,
    *,
    method: str,
    path: str,
    query: str,
    content_type: str,
    host: str,
    body: bytes,
    timestamp: int,
    service: str = SERVICE,
) -> str:
    """The signature Tencent Cloud expects (its API 3.0 signature v3 documentation)."""
    canonical = "\n".join(
        [
            method,
            path,
            query,
            f"content-type:{content_type}\nhost:{host}\n",
            "content-type;host",
            hashlib.sha256(body).hexdigest(),
        ]
    )
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join(
        ["TC3-HMAC-SHA256", str(timestamp), scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode(), date), service), "tc3_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


AUTH_RE = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[a-z]+)"
    r"/tc3_request, SignedHeaders=(?P<signed>[a-z;-]+), Signature=(?P<sig>[0-9a-f]{64})$"
)


def _auth_error() -> str | None:
    """The Tencent Cloud error code of a request whose signature does not hold, else None."""
    cfg = current_app.config
    match = AUTH_RE.match(request.headers.get("Authorization", ""))
    if not match or match["signed"] != "content-type;host" or match["service"] != SERVICE:
        return "AuthFailure.InvalidAuthorization"
    if not hmac.compare_digest(match["id"], cfg["TENCENTCLOUD_SECRET_ID"]):
        return "AuthFailure.SecretIdNotFound"
    try:
        timestamp = int(request.headers.get("X-TC-Timestamp", ""))
    except ValueError:
        return "AuthFailure.InvalidAuthorization"
    if abs(time.time() - timestamp) > SIGNATURE_MAX_AGE_S:
        return "AuthFailure.SignatureExpire"
    expected = tc3_signature(
        cfg["TENCENTCLOUD_SECRET_KEY"],
        method=request.method,
        path=request.path,
        query=request.query_string.decode(),
        content_type=request.headers.get("Content-Type", ""),
        host=request.headers.get("Host", ""),
        body=request.get_data(),
        timestamp=timestamp,
    )
    if match["date"] != datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d"):
        return "AuthFailure.SignatureFailure"
    if not hmac.compare_digest(expected, match["sig"]):
        return "AuthFailure.SignatureFailure"
    return None


# --- the API ------------------------------------------------------------------------------


def _answer(**response: Any) -> Any:
    return jsonify({"Response": {**response, "RequestId": str(uuid.uuid4())}})


def _error(code: str) -> Any:
    return _answer(Error={"Code": code, "Message": MESSAGES.get(code, code)})


def _template_text(template_id: str) -> str | None:
    cfg = current_app.config
    for setting, text in TEXTS.items():
        if cfg.get(setting) == template_id:
            return text
    return None


def _take_failure(r: Any) -> str | None:
    raw = r.hgetall(K_FAIL)
    if not raw:
        return None
    times = int(raw.get("times", -1))
    if times == 0:
        return None
    if times > 0 and r.hincrby(K_FAIL, "times", -1) < 0:
        return None
    return raw["code"]


@bp.post("/api")
def send_sms():
    delay_ms = int(get_redis().get(K_DELAY) or 0)
    if delay_ms:
        time.sleep(delay_ms / 1000)
    failed = _auth_error()
    if failed:
        return _error(failed)
    if (
        request.headers.get("X-TC-Action") != ACTION
        or request.headers.get("X-TC-Version") != VERSION
    ):
        return _error("InvalidAction")
    try:
        body = json.loads(request.get_data(as_text=True))
    except ValueError:
        return _error("InvalidParameter")
    if not isinstance(body, dict):
        return _error("InvalidParameter")
    cfg = current_app.config
    if body.get("SmsSdkAppId") != cfg["SMS_SDK_APP_ID"]:
        return _error("UnauthorizedOperation.SmsSdkAppIdVerifyFail")
    if not body.get("SignName") or body.get("SignName") != cfg["SMS_SIGN_NAME"]:
        return _error("FailedOperation.SignatureIncorrectOrUnapproved")
    text = _template_text(str(body.get("TemplateId") or ""))
    if text is None:
        return _error("FailedOperation.TemplateIncorrectOrUnapproved")
    params = body.get("TemplateParamSet") or []
    if (
        not isinstance(params, list)
        or len(params) != text.count("{")
        or not all(isinstance(p, str) and 0 < len(p) <= 12 for p in params)
    ):
        return _error("InvalidParameterValue.TemplateParameterFormatError")
    numbers = body.get("PhoneNumberSet")
    if not isinstance(numbers, list) or not 1 <= len(numbers) <= 200:
        return _error("InvalidParameter")
    r = get_redis()
    failure = _take_failure(r)
    if failure:
        return _error(failure)
    content = f"【{body['SignName']}】" + text.replace("{1}", params[0]).replace(
        "{2}", params[1] if len(params) > 1 else ""
    )
    statuses = []
    for number in numbers:
        if not isinstance(number, str) or not PHONE_RE.match(number):
            statuses.append(
                {
                    "SerialNo": "",
                    "PhoneNumber": str(number),
                    "Fee": 0,
                    "SessionContext": "",
                    "Code": "InvalidParameterValue.IncorrectPhoneNumber",
                    "Message": MESSAGES["InvalidParameterValue.IncorrectPhoneNumber"],
                    "IsoCode": "",
                }
            )
            continue
        _deliver(r, number[3:], body["SignName"], str(body["TemplateId"]), params, content)
        statuses.append(
            {
                "SerialNo": f"2028:{secrets.randbelow(10**19)}",
                "PhoneNumber": number,
                "Fee": 1,
                "SessionContext": str(body.get("SessionContext") or ""),
                "Code": "Ok",
                "Message": "send success",
                "IsoCode": "CN",
            }
        )
    return _answer(SendStatusSet=statuses)


def _deliver(r: Any, phone: str, sign: str, template_id: str, params: list, text: str) -> None:
    now = app_now()
    entry = {
        "phone": phone,
        "sign_name": sign,
        "template_id": template_id,
        "params": params,
        "text": text,
        "sent_at": now.isoformat(),
    }
    pipe = r.pipeline()
    pipe.lpush(K_MESSAGES + phone, json.dumps(entry, ensure_ascii=False))
    pipe.ltrim(K_MESSAGES + phone, 0, KEEP - 1)
    pipe.zadd(K_PHONES, {phone: now.timestamp()})
    pipe.execute()


def messages(r: Any, phone: str) -> list[dict[str, Any]]:
    """The messages `phone` received, newest first."""
    return [json.loads(item) for item in r.lrange(K_MESSAGES + phone, 0, -1)]


# --- for people and tests -------------------------------------------------------------------


@bp.get("/messages")
def messages_json():
    phone = (request.args.get("phone") or "").strip()[:20]
    return jsonify({"phone": phone, "items": messages(get_redis(), phone) if phone else []})


@bp.get("")
def inbox_page():
    r = get_redis()
    phone = (request.args.get("phone") or "").strip()[:20]
    phones = r.zrevrange(K_PHONES, 0, 49)
    if phone:
        inboxes = [(phone, messages(r, phone))]
    else:
        inboxes = [(p, messages(r, p)[:5]) for p in phones[:20]]
    return render_template("sandbox/sms_inbox.html", phone=phone, phones=phones, inboxes=inboxes)


@bp.get("/switches")
def get_switches():
    r = get_redis()
    raw = r.hgetall(K_FAIL)
    return jsonify(
        {
            "fail": raw.get("code"),
            "times": int(raw.get("times", 0)),
            "delay_ms": int(r.get(K_DELAY) or 0),
        }
    )


@bp.post("/switches")
def post_switches():
    body = request.get_json(silent=True) or {}
    r = get_redis()
    if body.get("reset"):
        r.delete(K_FAIL)
        r.delete(K_DELAY)
    if body.get("fail"):
        r.hset(
            K_FAIL, mapping={"code": str(body["fail"])[:80], "times": int(body.get("times", -1))}
        )
    if "delay_ms" in body:
        delay = body["delay_ms"]
        if isinstance(delay, bool) or not isinstance(delay, int) or not 0 <= delay <= MAX_DELAY_MS:
            return jsonify(
                {"error": "invalid", "field": "delay_ms", "message": "delay_ms: 0–20000"}
            ), 400
        r.set(K_DELAY, delay)
    return get_switches()


# --- in-process transport -------------------------------------------------------------------


class WsgiTransport(BaseAdapter):
    """A requests transport that hands each request to `app` in-process, unchanged."""

    def __init__(self, app: Flask):
        super().__init__()
        self.app = app

    def send(self, req: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        parts = urlsplit(req.url or "")
        body = req.body.encode() if isinstance(req.body, str) else (req.body or b"")
        builder = EnvironBuilder(
            path=parts.path or "/",
            base_url=f"{parts.scheme}://{parts.netloc}",
            query_string=parts.query,
            method=req.method,
            headers=dict(req.headers),
            data=body,
        )
        try:
            res = self.app.test_client().open(builder)
        finally:
            builder.close()
        out = requests.Response()
        out.status_code = res.status_code
        out.reason = res.status.split(" ", 1)[-1]
        out.headers = CaseInsensitiveDict(dict(res.headers))
        out._content = res.get_data()
        out.encoding = res.charset if hasattr(res, "charset") else "utf-8"
        out.url = req.url or ""
        out.request = req
        res.close()
        return out

    def close(self) -> None:
        pass


@bp.record_once
def _use_in_process_transport(state: Any) -> None:
    app = state.app
    own = app.config["PUBLIC_BASE_URL"] + "/_sandbox/"
    if app.config["SMS_API_BASE"].startswith(own):
        app.config["SMS_TRANSPORT"] = WsgiTransport(app)
