"""Building the WeChat Pay client: sandbox keys generated once, the gateway from settings,
all four key settings or none."""

import pytest
from flask import Flask

from wxapp.config import ConfigError
from wxapp.pay.client import build_wechatpay
from wxapp.pay.keys import ensure_sandbox_keys


def bare_app(instance, **config):
    app = Flask(__name__, instance_path=str(instance))
    app.config.update(
        WXAPP_SANDBOX=True,
        WECHATPAY_MCHID="1900000109",
        WECHAT_APP_ID="wx5andb0x0000demo",
        WECHATPAY_APIV3_KEY="k" * 32,
        WECHATPAY_API_BASE="http://127.0.0.1:9/_sandbox",
        PUBLIC_BASE_URL="https://edu.example.cn",
        WECHATPAY_PRIVATE_KEY=None,
        WECHATPAY_CERT_SERIAL_NO=None,
        WECHATPAY_PUBLIC_KEY=None,
        WECHATPAY_PUBLIC_KEY_ID=None,
    )
    app.config.update(config)
    return app


def test_sandbox_keys_are_generated_once_and_used(tmp_instance):
    first = build_wechatpay(bare_app(tmp_instance))
    again = build_wechatpay(bare_app(tmp_instance))
    assert first.public_key_id == again.public_key_id
    assert first.public_key_id.startswith("PUB_KEY_ID_")
    assert first._core._gate_way == "http://127.0.0.1:9/_sandbox"
    assert first._notify_url == "https://edu.example.cn/pay/notify"


def test_configured_keys_are_used_as_given(tmp_instance):
    keys = ensure_sandbox_keys(tmp_instance / "elsewhere")
    app = bare_app(
        tmp_instance,
        WXAPP_SANDBOX=False,
        WECHATPAY_API_BASE="https://api.mch.weixin.qq.com",
        WECHATPAY_PRIVATE_KEY=str(keys.merchant_private_key),
        WECHATPAY_CERT_SERIAL_NO="ABC123",
        WECHATPAY_PUBLIC_KEY=str(keys.platform_public_key),
        WECHATPAY_PUBLIC_KEY_ID="PUB_KEY_ID_0114232134912410000000000000000000",
    )
    client = build_wechatpay(app)
    assert client.public_key_id == "PUB_KEY_ID_0114232134912410000000000000000000"
    assert client._core._gate_way == "https://api.mch.weixin.qq.com"
    assert not (tmp_instance / "wechatpay-sandbox").exists()


def test_some_key_settings_without_the_others_fail_naming_them(tmp_instance):
    keys = ensure_sandbox_keys(tmp_instance)
    app = bare_app(tmp_instance, WECHATPAY_PRIVATE_KEY=str(keys.merchant_private_key))
    with pytest.raises(ConfigError, match="WECHATPAY_CERT_SERIAL_NO"):
        build_wechatpay(app)
