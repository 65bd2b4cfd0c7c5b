"""The menu as data, and the fixed texts the account answers with.

`MENU` is what `flask --app wsgi wechat menu push` sends to `cgi-bin/menu/create`; the
click keys are what the callback dispatches on. Support numbers are the notice's (六、联系方式
and 操作手册 (六) 咨询方式).
"""

from __future__ import annotations

from typing import Any

PLANS_PUBLIC = "PLANS_PUBLIC"
PLANS_SPECIALIST = "PLANS_SPECIALIST"
MY_PROGRESS = "MY_PROGRESS"
MY_CERTIFICATES = "MY_CERTIFICATES"
HELP = "HELP"

MENU: dict[str, Any] = {
    "button": [
        {
            "name": "继续教育",
            "sub_button": [
                {"type": "click", "name": "公需科目", "key": PLANS_PUBLIC},
                {"type": "click", "name": "专业科目", "key": PLANS_SPECIALIST},
                {"type": "click", "name": "我的进度", "key": MY_PROGRESS},
                {"type": "click", "name": "我的证书", "key": MY_CERTIFICATES},
            ],
        },
        {"type": "click", "name": "帮助", "key": HELP},
    ]
}

HELP_TEXT = (
    "咨询方式：\n"
    "1. 账号注册、登录、证书问题：400-023-9229，按 1 选择登录注册问题\n"
    "2. 政策咨询：400-023-9229，按 2 选择政策咨询\n"
    "3. 学习技术咨询热线：400-618-7500，按 2 售后服务\n"
    "\n回复“进度”查看我的进度，回复“证书”查看我的证书。"
)

SHORT_HELP = "您好！请点击下方菜单“继续教育”开始学习。\n回复“进度”查看我的进度，“证书”查看我的证书，“帮助”查看咨询电话。"

WELCOME = (
    "欢迎关注！这里是专业技术人员继续教育平台。\n"
    "每年需完成 90 学时：公需科目 30 学时、专业科目 60 学时。"
)

# Text keywords and the menu click each one answers like.
KEYWORDS = {
    "进度": MY_PROGRESS,
    "我的进度": MY_PROGRESS,
    "证书": MY_CERTIFICATES,
    "我的证书": MY_CERTIFICATES,
    "帮助": HELP,
    "客服": HELP,
    "公需": PLANS_PUBLIC,
    "公需科目": PLANS_PUBLIC,
    "专业": PLANS_SPECIALIST,
    "专业科目": PLANS_SPECIALIST,
}


def click_buttons() -> list[dict[str, str]]:
    """Every click button of the menu, flattened (the sandbox phone draws these)."""
    result = []
    for button in MENU["button"]:
        for item in button.get("sub_button", [button]):
            if item.get("type") == "click":
                result.append({"name": item["name"], "key": item["key"]})
    return result
