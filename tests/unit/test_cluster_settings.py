"""Settings alone select the scale-out layout: Redis Cluster and the read replica."""

from __future__ import annotations

import pytest

from wxapp.config import load_config
from wxapp.errors import ConfigError
from wxapp.infra.redis_keys import phone_tag, trainee_tag
from wxapp.infra.replica import lsn


def config(tmp_path, **env):
    return load_config(tmp_path, {"WXAPP_SANDBOX": "1", **env})


def test_a_cluster_url_selects_the_cluster_client(tmp_path):
    cfg = config(tmp_path, REDIS_URL="redis+cluster://10.0.0.1:7001")
    assert cfg["REDIS_CLUSTER"] is True
    assert cfg["REDIS_URL"] == "redis://10.0.0.1:7001"
    cfg = config(tmp_path, REDIS_URL="redis://10.0.0.1:7001", REDIS_CLUSTER="1")
    assert cfg["REDIS_CLUSTER"] is True
    assert config(tmp_path, REDIS_URL="redis://10.0.0.1:6379/3")["REDIS_CLUSTER"] is False


@pytest.mark.parametrize(
    "env, named",
    [
        ({"REDIS_CLUSTER": "1"}, "REDIS_CLUSTER"),
        ({"REDIS_URL": "redis+cluster://10.0.0.1:7001/3"}, "REDIS_URL"),
        ({"DATABASE_READ_URL": "mysql://x/y"}, "DATABASE_READ_URL"),
        ({"DATABASE_READ_URL": "sqlite:///x.db"}, "DATABASE_READ_URL"),
        (
            {"DATABASE_READ_URL": "postgresql://r/db", "DATABASE_READ_MAX_LAG_S": "x"},
            "DATABASE_READ_MAX_LAG_S",
        ),
    ],
)
def test_a_bad_layout_setting_stops_start_up_naming_it(tmp_path, env, named):
    with pytest.raises(ConfigError, match=named):
        config(tmp_path, **env)


def test_the_read_replica_setting(tmp_path):
    cfg = config(tmp_path, DATABASE_READ_URL="postgresql://postgres@r:5434/wxapp")
    assert cfg["DATABASE_READ_URL"] == "postgresql+psycopg://postgres@r:5434/wxapp"
    assert (cfg["DATABASE_READ_MAX_LAG_S"], cfg["DATABASE_READ_CHECK_S"]) == (5.0, 1.0)
    assert config(tmp_path)["DATABASE_READ_URL"] is None


def test_lsn_order():
    assert lsn("0/0") == 0 < lsn("0/FFFFFFFF") < lsn("1/0") < lsn("16/B374D848")
    assert lsn(None) == 0


def test_hash_tags():
    assert trainee_tag(42) == "{t:42}"
    assert phone_tag("13800138001") == "{p:13800138001}"
