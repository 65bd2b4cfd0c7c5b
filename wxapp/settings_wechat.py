"""WeChat, WeChat Pay and Tencent Cloud SMS settings, and their sandbox defaults."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wxapp.errors import ConfigError
from wxapp.settings_parse import _bool, _get, _number, _pem_path, _url

SANDBOX_DEFAULTS = {
    "WECHAT_APP_ID": "wx5andb0x0000demo",
    "WECHAT_APP_SECRET": "sandbox-app-secret-0123456789abcd",
    "WECHAT_TOKEN": "sandboxtoken",
    # 43 characters of base64, as the 公众平台 generates.
    "WECHAT_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "WECHATPAY_MCHID": "1900000109",
    "WECHATPAY_APIV3_KEY": "sandboxapiv3key0123456789abcdefg",
    # Tencent Cloud SMS as the sandbox plays it (wxapp/sandbox/sms.py checks these).
    "TENCENTCLOUD_SECRET_ID": "AKIDsandbox0000000000000000000000000",
    "TENCENTCLOUD_SECRET_KEY": "sandbox-tencentcloud-secret-key-0123",
    "SMS_SDK_APP_ID": "1400000001",
    "SMS_SIGN_NAME": "重庆继续教育",
    "SMS_TEMPLATE_ACTIVATE": "100001",
    "SMS_TEMPLATE_REGISTER": "100002",
    "SMS_TEMPLATE_RESET": "100003",
    "SMS_TEMPLATE_REBIND": "100004",
    "SMS_TEMPLATE_PHONE": "100005",
    "SMS_TEMPLATE_PHONE_CHANGED": "100006",
}

# The SMS template settings: one per verification purpose (wxapp/accounts/sms_codes.Purpose),
# whose two parameters are {1} the 6-digit code and {2} its life in minutes; then the notice
# to the old phone that the account's phone was replaced (wxapp/notifications/sms_notices.py:
# {1} who replaced it, {2} the new phone masked).
SMS_TEMPLATES = (
    "SMS_TEMPLATE_ACTIVATE",
    "SMS_TEMPLATE_REGISTER",
    "SMS_TEMPLATE_RESET",
    "SMS_TEMPLATE_REBIND",
    "SMS_TEMPLATE_PHONE",
    "SMS_TEMPLATE_PHONE_CHANGED",
)


def wechat_settings(
    env: Mapping[str, Any], cfg: dict[str, Any], sandbox: bool, sandbox_base: str
) -> None:
    """The 公众号 credentials, the API bases and WeChat Pay, written into `cfg`."""
    for name in ("WECHAT_APP_ID", "WECHAT_APP_SECRET", "WECHAT_TOKEN", "WECHAT_AES_KEY"):
        cfg[name] = _get(env, name) or (SANDBOX_DEFAULTS[name] if sandbox else None)
    if len(cfg["WECHAT_AES_KEY"]) != 43:
        raise ConfigError("WECHAT_AES_KEY must be the 43-character EncodingAESKey")
    # 安全模式: every callback message must come encrypted (a raw body is refused, 403).
    cfg["WECHAT_CALLBACK_REQUIRE_AES"] = _bool(env, "WECHAT_CALLBACK_REQUIRE_AES", False)

    cfg["WECHAT_API_BASE"] = (
        _get(env, "WECHAT_API_BASE") or (sandbox_base if sandbox else "https://api.weixin.qq.com")
    ).rstrip("/")
    cfg["WECHAT_OAUTH_BASE"] = (
        _get(env, "WECHAT_OAUTH_BASE")
        or (sandbox_base if sandbox else "https://open.weixin.qq.com")
    ).rstrip("/")
    cfg["WECHATPAY_API_BASE"] = (
        _get(env, "WECHATPAY_API_BASE")
        or (sandbox_base if sandbox else "https://api.mch.weixin.qq.com")
    ).rstrip("/")
    for name in ("WECHAT_API_BASE", "WECHAT_OAUTH_BASE", "WECHATPAY_API_BASE"):
        _url(name, cfg[name], ("http", "https"))

    for name in ("WECHATPAY_MCHID", "WECHATPAY_APIV3_KEY"):
        cfg[name] = _get(env, name) or (SANDBOX_DEFAULTS[name] if sandbox else None)
    if len(cfg["WECHATPAY_APIV3_KEY"].encode()) != 32:
        raise ConfigError("WECHATPAY_APIV3_KEY must be 32 bytes")
    # In sandbox mode the pay half generates its own keys under instance/ when these are unset.
    cfg["WECHATPAY_PRIVATE_KEY"] = _pem_path(
        "WECHATPAY_PRIVATE_KEY", _get(env, "WECHATPAY_PRIVATE_KEY")
    )
    cfg["WECHATPAY_PUBLIC_KEY"] = _pem_path(
        "WECHATPAY_PUBLIC_KEY", _get(env, "WECHATPAY_PUBLIC_KEY")
    )
    cfg["WECHATPAY_CERT_SERIAL_NO"] = _get(env, "WECHATPAY_CERT_SERIAL_NO")
    cfg["WECHATPAY_PUBLIC_KEY_ID"] = _get(env, "WECHATPAY_PUBLIC_KEY_ID")


def _sms_settings(env: Mapping[str, Any], sandbox: bool, sandbox_base: str) -> dict[str, Any]:
    """Tencent Cloud SMS: the API base the SDK's endpoint points at (the sandbox's in
    sandbox mode), credentials, the SMS app, the signature and a template per message."""
    cfg: dict[str, Any] = {
        "SMS_API_BASE": _url(
            "SMS_API_BASE",
            (
                _get(env, "SMS_API_BASE")
                or (f"{sandbox_base}/sms/api" if sandbox else "https://sms.tencentcloudapi.com")
            ).rstrip("/"),
            ("http", "https"),
        ),
        "SMS_REGION": _get(env, "SMS_REGION") or "ap-guangzhou",
        # Codes sent a day from one client address (activation, 自主注册, 忘记密码, 改绑):
        # a unit activating its roster on site behind one NAT address needs more.
        "SMS_IP_DAILY_CAP": int(_number(env, "SMS_IP_DAILY_CAP", 30, 1, 100_000)),
        # Codes the whole service sends a day: what SMS may cost, whatever addresses a
        # script comes from (each code is paid for).
        "SMS_DAILY_CAP": int(_number(env, "SMS_DAILY_CAP", 100_000, 1, 10_000_000)),
    }
    for name in (
        "TENCENTCLOUD_SECRET_ID",
        "TENCENTCLOUD_SECRET_KEY",
        "SMS_SDK_APP_ID",
        "SMS_SIGN_NAME",
        *SMS_TEMPLATES,
    ):
        cfg[name] = _get(env, name) or (SANDBOX_DEFAULTS[name] if sandbox else None)
    if not cfg["SMS_SDK_APP_ID"].isdigit():
        raise ConfigError(
            f"SMS_SDK_APP_ID must be the SMS application's SdkAppId (digits, e.g. 1400006666),"
            f" got {cfg['SMS_SDK_APP_ID']!r}"
        )
    for name in SMS_TEMPLATES:
        if cfg[name] is None:  # one added since the deployment's settings were written
            raise ConfigError(f"missing setting(s): {name} (an approved SMS template's ID)")
        if not cfg[name].isdigit():
            raise ConfigError(
                f"{name} must be an approved template's ID (digits), got {cfg[name]!r}"
            )
    return cfg
