"""A short device label from a User-Agent for the learning record: "iPhone 微信", "Windows 浏览器".

Pure: a string in, a string out. Called on the beacon's hot path, so answers are cached by
User-Agent (a learner's player sends the same one every 15 s).
"""

from __future__ import annotations

from functools import lru_cache

UNKNOWN = "未知设备"
# First match wins: iPad and HarmonyOS user agents also say "Mac OS X" / "Android".
SYSTEMS = (
    ("iphone", "iPhone"),
    ("ipad", "iPad"),
    ("openharmony", "鸿蒙"),
    ("harmonyos", "鸿蒙"),
    ("android", "Android"),
    ("windows", "Windows"),
    ("macintosh", "Mac"),
    ("mac os x", "Mac"),
    ("cros", "Chromebook"),
    ("linux", "Linux"),
)
APPS = (
    ("wxwork", "企业微信"),
    ("micromessenger", "微信"),
)


@lru_cache(maxsize=512)
def device_label(user_agent: str) -> str:
    """At most about a dozen characters, Chinese-readable; "未知设备" when nothing is told."""
    ua = (user_agent or "").lower()
    if not ua.strip():
        return UNKNOWN
    system = next((name for needle, name in SYSTEMS if needle in ua), "其他设备")
    app = next((name for needle, name in APPS if needle in ua), "浏览器")
    return f"{system} {app}"
