"""What the account answers to each menu click and keyword, as plain data.

A reply is `{"type": "text", "content": str}` or `{"type": "news", "articles": [...]}`
(each article: title, description, url, image). Links into the H5 pages go through
网页授权 (`/auth/wechat?next=...`) so the page opens with the trainee's session. Each
reply costs at most two indexed queries: the callback must answer within 5 seconds.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from models import PlanKind
from wxapp.accounts.bindings import trainee_for_openid
from wxapp.catalogue import plans as catalogue
from wxapp.certificates.issuing import list_certificates
from wxapp.conversation import menu
from wxapp.infra.clock import local
from wxapp.progress import credits
from wxapp.progress.standing import TOTAL_REQUIRED, YearStanding, hours_text

Reply = dict[str, Any]
# Passive news replies carry at most 8 articles (1 when answering a user's message).
MAX_ARTICLES = 8
# A text reply must stay under WeChat's 2048 bytes; 我的证书 lists this year's plans without
# a certificate (at most MAX_LISTED) and as many certificates held as then fit.
REPLY_BYTES = 2000
MAX_LISTED = 4


def auth_link(public_base: str, next_path: str) -> str:
    """A link that logs the WeChat user in by 网页授权, then opens `next_path`."""
    return f"{public_base}/auth/wechat?next={quote(next_path, safe='')}"


def text(content: str) -> Reply:
    return {"type": "text", "content": content}


def _hours(value: float) -> str:
    """学时 from JSON (a float) as people write them: 30, 12.5."""
    return hours_text(Decimal(str(value)))


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
    standing = credits.trainee_standing(trainee_id, local(now).year)
    link = auth_link(public_base, "/h5/progress")
    lines = [
        f"{standing.year}年度学习进度（{'已达标' if standing.met else '未达标'}）",
        *(kind.line_text() for kind in standing.kinds),
        _year_line(standing),
        f'<a href="{link}">查看详细进度</a>',
    ]
    return text("\n".join(lines))


def _year_line(standing: YearStanding) -> str:
    """ "2026年度已计 60 / 90 学时，还差 30 公需学时" (each kind counted up to its requirement)."""
    head = f"{standing.year}年度已计 {hours_text(standing.counted)} / {TOTAL_REQUIRED} 学时"
    return f"{head}，{standing.shortfall_text()}" if not standing.met else f"{head}，已达标"


def certificates_reply(openid: str, public_base: str, now: datetime) -> Reply:
    trainee_id = trainee_for_openid(openid)
    if trainee_id is None:
        return text(bind_prompt(public_base, "/h5/certificates"))
    year = local(now).year
    entries = list_certificates(trainee_id, public_base)
    this_year = [e for e in entries if e["plan"]["year"] == year]
    # Not the plans' own 学时 added up: a course two plans hold counts once toward the year.
    standing = credits.trainee_standing(trainee_id, year)
    rest = [e for e in this_year if not e["certificate"]]
    tail: list[str] = []
    if rest:
        tail.append(f"{year}年度尚未获得证书的培训项目：")
        tail += [f"· {escape(e['plan']['title'])}：{_missing_text(e)}" for e in rest[:MAX_LISTED]]
    tail.append(_year_line(standing))
    for kind in standing.kinds:
        if not kind.met and not any(e["plan"]["kind"] == kind.kind for e in this_year):
            tail.append(f"尚未选购{year}年度{kind.name}培训项目。")
    link = auth_link(public_base, "/h5/certificates")
    tail.append(f'<a href="{link}">查看我的证书</a>')

    held = [e for e in entries if e["certificate"]]
    head = ["我的证书", "已获得的证书：" if held else "还没有获得证书。"]
    # Newest first, as many as WeChat's 2048 bytes leave room for; the page has them all.
    more = f"等 {len(held)} 张证书（前 {len(held)} 张如上）"
    budget = REPLY_BYTES - _size([*head, more, *tail])
    for shown, e in enumerate(held):
        cert = e["certificate"]
        print_link = auth_link(public_base, cert["print_url"])
        line = (
            f"· {escape(e['plan']['title'])}（{cert['kind_name']} {_hours(cert['hours'])} 学时）"
            f'证书编号 {cert["serial"]} <a href="{print_link}">查看、打印</a>'
        )
        budget -= len(line.encode()) + 1
        if budget < 0:
            head.append(f"等 {len(held)} 张证书（前 {shown} 张如上）")
            break
        head.append(line)
    return text("\n".join(head + tail))


def _size(lines: list[str]) -> int:
    return sum(len(line.encode()) + 1 for line in lines)


def _missing_text(entry: dict[str, Any]) -> str:
    """What a plan without a certificate still needs."""
    plan = entry["plan"]
    if entry["complete"]:
        return "已完成，可申请证书"
    short = max(plan["required_hours"] - entry["hours_done"], 0)
    return (
        f"已学 {_hours(entry['hours_done'])} / {plan['required_hours']} 学时，"
        f"还差 {_hours(short)} 学时"
    )


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
