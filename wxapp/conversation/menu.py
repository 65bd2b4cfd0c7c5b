"""The menu as data, and the fixed texts the account answers with.

`MENU` is what `flask --app wsgi wechat menu push` sends to `cgi-bin/menu/create`; the
click keys are what the callback dispatches on. Support numbers are the notice's (六、联系方式
and 操作手册 (六) 咨询方式).
"""

from __future__ import annotations

from typing import Any

from wxapp.infra.texts import REGISTRATION_EMAIL

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

# Every contact of the notice (六、联系方式 and 操作手册 (六) 咨询方式), in its words: the 帮助
# page (GET /api/help) and the 帮助 reply are both drawn from this list.
CONTACTS: tuple[dict[str, Any], ...] = (
    {
        "group": "重庆市人力资源开发服务中心",
        "items": (
            {"label": "账号注册、登录、证书问题咨询", "value": "400-023-9229，按 1 选择登录注册问题",
             "tel": "4000239229"},
            {"label": "政策咨询", "value": "400-023-9229，按 2 选择政策咨询", "tel": "4000239229"},
            {"label": "学习技术咨询热线", "value": "400-618-7500，按 2 售后服务", "tel": "4006187500"},
            {"label": "重庆市专业科目咨询 QQ群", "value": "939890350", "tel": None},
            {"label": "团队购买请联系 QQ", "value": "2277254850", "tel": None},
            {"label": "单位未注册人数超过 10 人", "value": "填写《学员注册名单》（附件2）发送至 "
             + REGISTRATION_EMAIL + "，2 个工作日内统一注册", "tel": None},
        ),
    },
    {
        "group": "垫江县人力资源和社会保障局（垫江县学员）",
        "items": ({"label": "联系电话", "value": "023-74606177", "tel": "02374606177"},),
    },
    {
        "group": "在线客服",
        "items": (
            {"label": "在线客服", "value": "在公众号对话框中直接发送您的问题，即转在线客服，可进行技术操作咨询",
             "tel": None},
        ),
    },
)  # fmt: skip


def _help_text() -> str:
    lines = ["咨询方式："]
    for group in CONTACTS:
        lines.append(f"【{group['group']}】")
        lines.extend(f"{item['label']}：{item['value']}" for item in group["items"])
    lines.append("\n回复“进度”查看我的进度，回复“证书”查看我的证书。")
    return "\n".join(lines)


HELP_TEXT = _help_text()

# A text the account does not understand goes to customer service; the user is told so.
HANDOFF_ACK = (
    "您的消息已转给在线客服，客服人员将在这里回复您，请稍候。\n"
    "也可拨打 400-023-9229（按 1 登录注册问题，按 2 政策咨询），或回复“帮助”查看全部咨询方式。"
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
