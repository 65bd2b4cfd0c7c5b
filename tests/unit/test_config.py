"""Settings fail at start-up with the name of what is missing or malformed."""

from pathlib import Path

import pytest

from wxapp.config import ConfigError, load_config

PRODUCTION = {
    "WXAPP_SANDBOX": "0",
    "SECRET_KEY": "k" * 32,
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
    "METRICS_TOKEN": "metrics-token-0123456789",
    "TENCENTCLOUD_SECRET_ID": "AKIDexample",
    "TENCENTCLOUD_SECRET_KEY": "tc-secret",
    "SMS_SDK_APP_ID": "1400006666",
    "SMS_SIGN_NAME": "重庆继续教育",
    "SMS_TEMPLATE_ACTIVATE": "2000001",
    "SMS_TEMPLATE_REGISTER": "2000002",
    "SMS_TEMPLATE_RESET": "2000003",
    "SMS_TEMPLATE_REBIND": "2000004",
    "SMS_TEMPLATE_PHONE": "2000005",
    "SMS_TEMPLATE_PHONE_CHANGED": "2000006",
    "PROXY_COUNT": "1",
}


@pytest.fixture
def production(tmp_path: Path, monkeypatch) -> dict[str, str]:
    for key in list(PRODUCTION) + ["WECHATPAY_PRIVATE_KEY", "WECHATPAY_PUBLIC_KEY", "PROXY_COUNT"]:
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
    assert cfg["SMS_API_BASE"] == "https://sms.tencentcloudapi.com"
    assert cfg["SMS_TEMPLATE_RESET"] == "2000003"


@pytest.mark.parametrize(
    "name",
    [
        "TENCENTCLOUD_SECRET_ID",
        "TENCENTCLOUD_SECRET_KEY",
        "SMS_SDK_APP_ID",
        "SMS_SIGN_NAME",
        "SMS_TEMPLATE_ACTIVATE",
        "SMS_TEMPLATE_REGISTER",
        "SMS_TEMPLATE_RESET",
        "SMS_TEMPLATE_REBIND",
        "SMS_TEMPLATE_PHONE",
        "SMS_TEMPLATE_PHONE_CHANGED",
    ],
)
def test_production_without_an_sms_setting_stops_naming_it(tmp_path, production, name):
    # Not a silent sandbox SMS: production names what Tencent Cloud SMS still needs.
    del production[name]
    with pytest.raises(ConfigError, match=name):
        load_config(tmp_path, production)


def test_sandbox_points_sms_at_the_sandbox(tmp_path, bare_environment):
    cfg = load_config(tmp_path, {"WXAPP_SANDBOX": "1", "PUBLIC_BASE_URL": "http://127.0.0.1:5000"})
    assert cfg["SMS_API_BASE"] == "http://127.0.0.1:5000/_sandbox/sms/api"
    assert cfg["SMS_SIGN_NAME"] and cfg["SMS_TEMPLATE_ACTIVATE"].isdigit()


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
        ("SMS_API_BASE", "sms.tencentcloudapi.com"),
        ("SMS_SDK_APP_ID", "app-one"),
        ("SMS_TEMPLATE_RESET", "reset"),
    ],
)
def test_malformed_setting_is_named(tmp_path, production, name, value):
    production[name] = value
    with pytest.raises(ConfigError, match=name):
        load_config(tmp_path, production)


WECHAT_SETTINGS = (
    "WECHAT_APP_ID",
    "WECHAT_APP_SECRET",
    "WECHAT_TOKEN",
    "WECHAT_AES_KEY",
    "WECHATPAY_MCHID",
    "WECHATPAY_PRIVATE_KEY",
    "WECHATPAY_CERT_SERIAL_NO",
    "WECHATPAY_APIV3_KEY",
    "WECHATPAY_PUBLIC_KEY",
    "WECHATPAY_PUBLIC_KEY_ID",
)


@pytest.fixture
def bare_environment(monkeypatch):
    """No setting at all in the environment: what a fresh machine or a bad deploy has."""
    for key in (
        *WECHAT_SETTINGS,
        "WXAPP_SANDBOX",
        "PUBLIC_BASE_URL",
        "WECHAT_API_BASE",
        "DATABASE_URL",
        "REDIS_URL",
        "SECRET_KEY",
        "SMS_API_BASE",
    ):
        monkeypatch.delenv(key, raising=False)


def test_sandbox_defaults_point_wechat_at_the_sandbox(tmp_path, bare_environment):
    # Explicit WXAPP_SANDBOX=1 starts with no WeChat setting at all.
    cfg = load_config(tmp_path, {"WXAPP_SANDBOX": "1"})
    assert cfg["WXAPP_SANDBOX"] is True
    assert cfg["WECHAT_API_BASE"] == "http://127.0.0.1:5000/_sandbox"
    assert cfg["WECHAT_APP_ID"] == "wx5andb0x0000demo"
    assert cfg["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    # The development secret survives restarts.
    assert load_config(tmp_path, {"WXAPP_SANDBOX": "1"})["SECRET_KEY"] == cfg["SECRET_KEY"]


def test_without_wxapp_sandbox_a_missing_wechat_setting_stops_start_up(tmp_path, production):
    # Not silently the sandbox: without WXAPP_SANDBOX, a missing WECHAT_APP_ID is named.
    del production["WXAPP_SANDBOX"], production["WECHAT_APP_ID"]
    with pytest.raises(ConfigError, match="WECHAT_APP_ID"):
        load_config(tmp_path, production)


def test_a_bare_environment_is_not_the_sandbox(tmp_path, bare_environment):
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path, {})
    assert "WECHAT_APP_ID" in str(err.value) and "WECHAT_APP_SECRET" in str(err.value)
    assert "WXAPP_SANDBOX=1" in str(err.value)  # and says how to get the sandbox


def test_production_refuses_a_secret_key_under_32_bytes(tmp_path, production):
    production["SECRET_KEY"] = "k" * 31
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config(tmp_path, production)
    production["SECRET_KEY"] = "钥" * 10 + "k"  # 31 bytes in UTF-8, 11 characters
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config(tmp_path, production)
    production["SECRET_KEY"] = "k" * 32
    assert load_config(tmp_path, production)["SECRET_KEY"] == "k" * 32


def test_sandbox_mode_keeps_a_short_development_secret(tmp_path, bare_environment):
    cfg = load_config(tmp_path, {"WXAPP_SANDBOX": "1", "SECRET_KEY": "dev"})
    assert cfg["SECRET_KEY"] == "dev"


def test_production_refuses_a_short_fallback_key_and_a_missing_metrics_token(production, tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY_FALLBACKS must be at least 32 bytes"):
        load_config(tmp_path, {**production, "SECRET_KEY_FALLBACKS": "k" * 40 + ",short"})
    without = {k: v for k, v in production.items() if k != "METRICS_TOKEN"}
    with pytest.raises(ConfigError, match="METRICS_TOKEN"):
        load_config(tmp_path, without)


def test_production_needs_proxy_count_said_explicitly(tmp_path, production):
    """Behind nginx with PROXY_COUNT left at 0 every client is nginx's address: one
    stranger's 30 wrong passwords a minute would lock everyone out of login, and 30 SMS
    codes would use up the day's codes for all. 0 is allowed, but only when said."""
    del production["PROXY_COUNT"]
    with pytest.raises(ConfigError, match="PROXY_COUNT"):
        load_config(tmp_path, production)
    assert load_config(tmp_path, {**production, "PROXY_COUNT": "0"})["PROXY_COUNT"] == 0


def test_production_refuses_a_plain_http_public_address(tmp_path, production):
    """Over http the session cookie would not be Secure, and every push link and
    certificate QR code would send trainees to a page anyone on the way can read."""
    production["PUBLIC_BASE_URL"] = "http://edu.example.cn"
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
        load_config(tmp_path, production)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "mysql://wxapp:S3cretDbPass@db/wxapp"),
        ("DATABASE_READ_URL", "postgresq://wxapp:S3cretDbPass@replica/wxapp"),
        ("REDIS_URL", "redis+sentinel://:S3cretDbPass@redis:26379/0"),
    ],
)
def test_a_malformed_url_setting_is_named_without_its_password(tmp_path, production, name, value):
    """The message goes to the start-up log (journald, shipped elsewhere)."""
    production[name] = value
    with pytest.raises(ConfigError, match=name) as refused:
        load_config(tmp_path, production)
    assert "S3cretDbPass" not in str(refused.value)
