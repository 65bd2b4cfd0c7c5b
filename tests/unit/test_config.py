"""Settings fail at start-up with the name of what is missing or malformed."""

from pathlib import Path

import pytest

from wxapp.config import ConfigError, load_config

PRODUCTION = {
    "WXAPP_SANDBOX": "0",
    "SECRET_KEY": "s",
    "DATABASE_URL": "postgresql://u@db/x",
    "REDIS_URL": "redis://cache:6379/0",
    "PUBLIC_BASE_URL": "https://edu.example.cn",
    "WECHAT_APP_ID": "wx123",
    "WECHAT_APP_SECRET": "secret",
    "WECHAT_TOKEN": "token",
    "WECHAT_AES_KEY": "a" * 43,
    "WECHATPAY_MCHID": "1900000109",
    "WECHATPAY_CERT_SERIAL_NO": "ABC",
    "WECHATPAY_APIV3_KEY": "k" * 32,
    "WECHATPAY_PUBLIC_KEY_ID": "PUB_KEY_ID_0001",
}


@pytest.fixture
def production(tmp_path: Path, monkeypatch) -> dict[str, str]:
    for key in list(PRODUCTION) + ["WECHATPAY_PRIVATE_KEY", "WECHATPAY_PUBLIC_KEY"]:
        monkeypatch.delenv(key, raising=False)
    pem = tmp_path / "key.pem"
    pem.write_text("-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n")
    return {**PRODUCTION, "WECHATPAY_PRIVATE_KEY": str(pem), "WECHATPAY_PUBLIC_KEY": str(pem)}


def test_production_settings_load(tmp_path, production):
    cfg = load_config(tmp_path, production)
    assert cfg["WXAPP_SANDBOX"] is False
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/x"  # psycopg 3
    assert cfg["WECHAT_API_BASE"] == "https://api.weixin.qq.com"
    assert cfg["WECHATPAY_API_BASE"] == "https://api.mch.weixin.qq.com"
    assert cfg["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize(
    "name", ["SECRET_KEY", "WECHAT_TOKEN", "WECHATPAY_APIV3_KEY", "DATABASE_URL"]
)
def test_missing_production_setting_is_named(tmp_path, production, name):
    del production[name]
    with pytest.raises(ConfigError, match=name):
        load_config(tmp_path, production)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WECHAT_AES_KEY", "short"),
        ("WECHATPAY_APIV3_KEY", "tooshort"),
        ("DATABASE_URL", "mysql://x/y"),
        ("PUBLIC_BASE_URL", "edu.example.cn"),
        ("WECHATPAY_PRIVATE_KEY", "/nonexistent.pem"),
        ("PROGRESS_FLUSH_S", "soon"),
        ("PROGRESS_COMPLETE_RATIO", "1.5"),
        ("WXAPP_SANDBOX", "maybe"),
        ("REDIS_URL", "localhost:6379"),
    ],
)
def test_malformed_setting_is_named(tmp_path, production, name, value):
    production[name] = value
    with pytest.raises(ConfigError, match=name):
        load_config(tmp_path, production)


def test_sandbox_defaults_point_wechat_at_the_sandbox(tmp_path, monkeypatch):
    for key in (
        "WECHAT_APP_ID",
        "WXAPP_SANDBOX",
        "PUBLIC_BASE_URL",
        "WECHAT_API_BASE",
        "DATABASE_URL",
        "SECRET_KEY",
    ):
        monkeypatch.delenv(key, raising=False)
    cfg = load_config(tmp_path, {})
    assert cfg["WXAPP_SANDBOX"] is True
    assert cfg["WECHAT_API_BASE"] == "http://127.0.0.1:5000/_sandbox"
    assert cfg["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    # The development secret survives restarts.
    assert load_config(tmp_path, {})["SECRET_KEY"] == cfg["SECRET_KEY"]
