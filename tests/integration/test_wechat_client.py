"""The WeChat client the factory builds, and the sandbox staying unmounted in production."""

from tests.conftest import app_with
from tests.factories import production_settings
from wxapp.wechat.client import TIMEOUT, SharedTokenClient


def test_factory_client_points_at_the_configured_base(app):
    client = app.extensions["wechat"]
    assert isinstance(client, SharedTokenClient)
    assert app.config["WECHAT_API_BASE"] + "/cgi-bin/" == client.API_BASE_URL
    assert client.timeout == TIMEOUT


def test_sandbox_is_not_mounted_in_production(base_config, tmp_path):
    production = production_settings(tmp_path)
    with app_with(base_config, **production) as app:
        rules = {rule.rule for rule in app.url_map.iter_rules()}
        assert "/wechat" in rules and "/auth/wechat" in rules
        assert not any(rule.startswith("/_sandbox") for rule in rules)
        assert app.extensions["wechat"].API_BASE_URL == "https://api.weixin.qq.com/cgi-bin/"
        assert app.test_client().get("/_sandbox/phone").status_code == 404
