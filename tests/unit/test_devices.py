"""The device label the learning record shows, from real User-Agent strings."""

import pytest

from wxapp.progress.devices import device_label

CASES = [
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN",
        "iPhone 微信",
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; V2309A; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/116.0 Mobile Safari/537.36 XWEB/1160117 MicroMessenger/8.0.48.2580 WeChat/arm64",
        "Android 微信",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0 Safari/537.36",
        "Windows 浏览器",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/81.0 Safari/537.36 NetType/WIFI MicroMessenger/7.0.20.1781(0x6700143B) "
        "WindowsWechat(0x63090a13)",
        "Windows 微信",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/17.4 Safari/605.1.15",
        "Mac 浏览器",
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Mobile/15E148 MicroMessenger/8.0.40",
        "iPad 微信",
    ),
    (
        "Mozilla/5.0 (Linux; Android 12; HarmonyOS; NOH-AN00) AppleWebKit/537.36 (KHTML, like "
        "Gecko) Chrome/99.0 Mobile Safari/537.36 wxwork/4.1.22 MicroMessenger/7.0.1",
        "鸿蒙 企业微信",
    ),
    ("curl/8.5.0", "其他设备 浏览器"),
    ("", "未知设备"),
]


@pytest.mark.parametrize(("user_agent", "label"), CASES)
def test_device_label(user_agent, label):
    assert device_label(user_agent) == label
    assert len(label) <= 12
