"""Replies in the other areas' contract shapes, served by the browser's request router, for
the page tests that must not depend on those back ends (test_stubbed_*.py)."""

from __future__ import annotations

import json
from typing import Any

import qrcode
import qrcode.image.svg

from tests.e2e.conftest import seed
from tests.factories import make_plan, make_trainee, make_unit


def stub(page: Any, pattern: str, body: Any, status: int = 200, method: str | None = None) -> list:
    """Answer `pattern` with JSON; returns the list of request bodies it received."""
    seen: list = []

    def handle(route: Any) -> None:
        if method and route.request.method != method:
            route.fallback()
            return
        data = route.request.post_data
        seen.append(json.loads(data) if data else None)
        reply = body(route.request) if callable(body) else body
        route.fulfill(status=status, json=reply)

    page.route(pattern, handle)
    return seen


def world(site, *, unit=True):
    def build():
        u = make_unit() if unit else None
        t = make_trainee(name="孙八", unit=u)
        plan = make_plan(year=2025, courses=3, chapters=2)
        plan.title = "2025年专业科目培训项目（工程建设）"
        courses = [pc.course for pc in plan.courses]
        courses[0].title = "建设工程质量管理"
        courses[1].title = "绿色建筑与节能"
        return {
            "phone": t.phone,
            "plan": plan.id,
            "courses": [c.id for c in courses],
            "chapters": [[ch.id for ch in c.chapters] for c in courses],
        }

    return seed(site, build)


def progress_reply(data, *, enrolled=True, hours_done=30, done=False):
    """GET /api/me/progress as the progress area answers it."""
    chapters = data["chapters"]
    plan = {
        "id": data["plan"],
        "title": "2025年专业科目培训项目（工程建设）",
        "kind": "specialist",
        "kind_name": "专业科目",
        "required_hours": 60,
        "hours_done": hours_done,
        "percent": int(hours_done * 100 / 60),
        "completed": done,
        "completed_at": "2025-07-01T02:00:00+00:00" if done else None,
        "courses": [
            {
                "id": data["courses"][0],
                "title": "建设工程质量管理",
                "hours": 30,
                "state": "learned",
                "percent": 100,
                "chapters": [
                    {
                        "id": chapters[0][0],
                        "title": "第1章",
                        "duration": 60,
                        "watched_seconds": 60,
                        "percent": 100,
                        "done": True,
                    },
                    {
                        "id": chapters[0][1],
                        "title": "第2章",
                        "duration": 60,
                        "watched_seconds": 58,
                        "percent": 96,
                        "done": True,
                    },
                ],
            },
            {
                "id": data["courses"][1],
                "title": "绿色建筑与节能",
                "hours": 30,
                "state": "learning",
                "percent": 20,
                "chapters": [
                    {
                        "id": chapters[1][0],
                        "title": "第1章",
                        "duration": 60,
                        "watched_seconds": 24,
                        "percent": 40,
                        "done": False,
                    },
                    {
                        "id": chapters[1][1],
                        "title": "第2章",
                        "duration": 60,
                        "watched_seconds": 0,
                        "percent": 0,
                        "done": False,
                    },
                ],
            },
        ],
    }
    return {
        "year": 2025,
        "totals": {
            "public": {"done": 12.0, "required": 30, "met": False},
            "specialist": {"done": float(hours_done), "required": 60, "met": hours_done >= 60},
            "total": {"done": 12.0 + hours_done, "required": 90},
            "met": False,
        },
        "plans": [plan] if enrolled else [],
    }


PAY_PARAMS = {
    "appId": "wx5andb0x0000demo",
    "timeStamp": "1750000000",
    "nonceStr": "n0nce",
    "package": "prepay_id=wx_sandbox_1",
    "signType": "RSA",
    "paySign": "c2lnbg==",
}

BRIDGE = """
window.__payResults = [];
window.WeixinJSBridge = { invoke(name, params, cb) {
  window.__payCalls = (window.__payCalls || []).concat([[name, params]]);
  setTimeout(() => cb({ err_msg: 'get_brand_wcpay_request:' + (window.__payResults.shift() || 'ok') }), 50);
} };
"""


def qr_svg(text: str) -> bytes:
    """A QR code as SVG (no Pillow needed); the real PNG is the orders area's business."""
    return qrcode.make(text, image_factory=qrcode.image.svg.SvgImage).to_string()


def cert_entries(data, *, with_certificate):
    """GET /api/me/certificates as the certificates area answers it: one entry per paid plan."""
    cert = {
        "id": 7,
        "serial": "CQ2025-ZY-000007",
        "plan_id": data["plan"],
        "year": 2025,
        "kind": "specialist",
        "kind_name": "专业科目",
        "hours": 60.0,
        "issuer": "重庆市人力资源开发服务中心",
        "issued_at": "2025-07-01T02:00:00+00:00",
        "issue_date": "2025年7月1日",
        "version": 1,
        "updated_at": "2025-07-01T02:00:00+00:00",
        "updated_date": "2025年7月1日",
        "verify_url": "http://x/verify/k3Jx9",
        "print_url": "/certificates/7",
        "pdf_url": "/api/certificates/7.pdf",
    }
    return {
        "items": [
            {
                "plan": {
                    "id": data["plan"],
                    "title": "2025年专业科目培训项目（工程建设）",
                    "year": 2025,
                    "kind": "specialist",
                    "kind_name": "专业科目",
                    "required_hours": 60,
                },
                "hours_done": 60.0,
                "complete": True,
                "certificate": cert if with_certificate else None,
            },
            {
                "plan": {
                    "id": data["plan"] + 1000,
                    "title": "2025年公需科目培训项目",
                    "year": 2025,
                    "kind": "public",
                    "kind_name": "公需科目",
                    "required_hours": 30,
                },
                "hours_done": 12.0,
                "complete": False,
                "certificate": None,
            },
        ]
    }
