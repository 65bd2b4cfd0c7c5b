"""What the account answers to each menu click and keyword, as plain data.

A reply is `{"type": "text", "content": str}` or `{"type": "news", "articles": [...]}`
(each article: title, description, url, image). Links into the H5 pages go through
网页授权 (`/auth/wechat?next=...`) so the page opens with the trainee's session. Each
reply costs at most two indexed queries: the callback must answer within 5 seconds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from models import PlanKind
from wxapp.accounts.bindings import trainee_for_openid
from wxapp.catalogue import plans as catalogue
from wxapp.conversation import menu
from wxapp.infra.clock import local
from wxapp.progress import credits

Reply = dict[str, Any]
# Passive news replies carry at most 8 articles (1 when answering a user's message).
MAX_ARTICLES = 8


def auth_link(public_base: str, next_path: str) -> str:
    """A link that logs the WeChat user in by 网页授权, then opens `next_path`."""
    return f"{public_base}/auth/wechat?next={quote(next_path, safe='')}"


def text(content: str) -> Reply:
    return {"type": "text", "content": content}


def _hours(value: float) -> str:
    return f"{value:g}"


def bind_prompt(public_base: str, next_path: str = "/h5/progress") -> str:
    link = auth_link(public_base, next_path)
    return f'您还没有绑定学员账号。<a href="{link}">点此登录并绑定</a>（手机号或身份证号 + 密码）。'


def plans_reply(kind: str, public_base: str, now: datetime, *, single: bool = False) -> Reply:
    """News: the year's plans of `kind`, the first article the whole list."""
    year = local(now).year
    name = catalogue.KIND_NAMES[PlanKind(kind)]
    plans = catalogue.list_plans(year, kind, now)
    if not plans:
        return text(f"{year}年度{name}培训项目尚未发布，请稍后再来查看。")
    list_path = "/h5/plans?" + urlencode({"kind": kind, "year": year})
    articles = [
        {
            "title": f"{year}年度{name}（共 {len(plans)} 个培训项目）",
            "description": f"选择培训项目，按需选课学习。{menu.WELCOME.splitlines()[1]}",
            "url": auth_link(public_base, list_path),
            "image": "",
        }
    ]
    if not single:
        for plan in plans[: MAX_ARTICLES - 1]:
            articles.append(
                {
                    "title": plan["title"],
                    "description": f"{plan['required_hours']} 学时 · {plan['price_fen'] / 100:.2f} 元",
                    "url": auth_link(public_base, f"/h5/plan?id={plan['id']}"),
                    "image": "",
                }
            )
    return {"type": "news", "articles": articles}


def progress_reply(openid: str, public_base: str, now: datetime) -> Reply:
    trainee_id = trainee_for_openid(openid)
    if trainee_id is None:
        return text(bind_prompt(public_base, "/h5/progress"))
    year = local(now).year
    totals = credits.year_totals(trainee_id, year)
    pub, spec, total = totals["public"], totals["specialist"], totals["total"]
    verdict = "已达标" if totals["met"] else "未达标"
    link = auth_link(public_base, "/h5/progress")
    return text(
        f"{year}年度学习进度（{verdict}）\n"
        f"公需科目：{_hours(pub['done'])} / {pub['required']} 学时\n"
        f"专业科目：{_hours(spec['done'])} / {spec['required']} 学时\n"
        f"合计：{_hours(total['done'])} / {total['required']} 学时\n"
        f'<a href="{link}">查看详细进度</a>'
    )


def certificates_reply(openid: str, public_base: str, now: datetime) -> Reply:
    trainee_id = trainee_for_openid(openid)
    if trainee_id is None:
        return text(bind_prompt(public_base, "/h5/certificates"))
    year = local(now).year
    totals = credits.year_totals(trainee_id, year)
    link = auth_link(public_base, "/h5/certificates")
    if totals["met"]:
        status = f"{year}年度学时已达标，可查看、打印合格证书。"
    else:
        missing = totals["total"]["required"] - totals["total"]["done"]
        status = (
            f"{year}年度学时尚未达标（还差 {_hours(max(missing, 0))} 学时），达标后可领取合格证书。"
        )
    return text(f'{status}\n<a href="{link}">查看我的证书</a>')


def welcome_reply(openid: str, public_base: str) -> Reply:
    if trainee_for_openid(openid) is None:
        return text(f"{menu.WELCOME}\n{bind_prompt(public_base)}")
    return text(f"{menu.WELCOME}\n欢迎回来！点击下方菜单“继续教育”继续学习。")


def for_key(
    key: str, openid: str, public_base: str, now: datetime, *, single: bool = False
) -> Reply | None:
    """The reply to a menu click key (or the keyword that stands for it)."""
    if key == menu.PLANS_PUBLIC:
        return plans_reply(PlanKind.PUBLIC.value, public_base, now, single=single)
    if key == menu.PLANS_SPECIALIST:
        return plans_reply(PlanKind.SPECIALIST.value, public_base, now, single=single)
    if key == menu.MY_PROGRESS:
        return progress_reply(openid, public_base, now)
    if key == menu.MY_CERTIFICATES:
        return certificates_reply(openid, public_base, now)
    if key == menu.HELP:
        return help_reply(public_base)
    return None


def help_reply(public_base: str) -> Reply:
    """Every contact of the notice, and the 帮助 page."""
    return text(f'{menu.HELP_TEXT}\n<a href="{public_base}/h5/help">查看帮助页面</a>')


def handoff_reply() -> Reply:
    """Hand the message to WeChat's customer service (a `transfer_customer_service` passive
    reply); `ack` is what the user is told, sent as a 客服消息 after the reply."""
    return {"type": "transfer_customer_service", "ack": menu.HANDOFF_ACK}


def for_text(content: str, openid: str, public_base: str, now: datetime) -> Reply:
    """A keyword's reply; an empty text gets the short help; any other text the account
    does not understand goes to a person (在线客服)."""
    if not content.strip():
        return text(menu.SHORT_HELP)
    key = menu.KEYWORDS.get(content.strip())
    if key is None:
        return handoff_reply()
    # A news reply to a user's message may carry one article only.
    return for_key(key, openid, public_base, now, single=True) or text(menu.SHORT_HELP)
