"""The WeChat client the factory builds, and the sandbox staying unmounted in production."""

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import app_with
from wxapp.wechat.client import TIMEOUT, SharedTokenClient


def test_factory_client_points_at_the_configured_base(app):
    client = app.extensions["wechat"]
    assert isinstance(client, SharedTokenClient)
    assert app.config["WECHAT_API_BASE"] + "/cgi-bin/" == client.API_BASE_URL
    assert client.timeout == TIMEOUT


def test_sandbox_is_not_mounted_in_production(base_config, tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = tmp_path / "apiclient_key.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = tmp_path / "pub_key.pem"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    production = {
        "WXAPP_SANDBOX": "0",
        "PUBLIC_BASE_URL": "https://edu.example.cn",
        "WECHAT_APP_ID": "wx1234567890abcdef",
        "WECHAT_APP_SECRET": "secret",
        "WECHAT_TOKEN": "token",
        "WECHAT_AES_KEY": "a" * 43,
        "WECHATPAY_MCHID": "1900000109",
        "WECHATPAY_CERT_SERIAL_NO": "ABC",
        "WECHATPAY_APIV3_KEY": "k" * 32,
        "WECHATPAY_PUBLIC_KEY_ID": "PUB_KEY_ID_0001",
        "WECHATPAY_PRIVATE_KEY": str(private),
        "WECHATPAY_PUBLIC_KEY": str(public),
    }
    with app_with(base_config, **production) as app:
        rules = {rule.rule for rule in app.url_map.iter_rules()}
        assert "/wechat" in rules and "/auth/wechat" in rules
        assert not any(rule.startswith("/_sandbox") for rule in rules)
        assert app.extensions["wechat"].API_BASE_URL == "https://api.weixin.qq.com/cgi-bin/"
        assert app.test_client().get("/_sandbox/phone").status_code == 404
