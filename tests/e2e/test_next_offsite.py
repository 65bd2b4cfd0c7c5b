"""A stranger's link with a `next` that a browser reads as another site: after the
trainee logs in or binds on the real pages, they stay on this site (the page goes to the
default page instead)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import authorize, seed
from tests.factories import make_trainee

EVIL = "evil.example"


def _catch_offsite(page) -> list[str]:
    went: list[str] = []

    def handler(route):
        went.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<h1>phish</h1>")

    page.context.route(f"**://{EVIL}/**", handler)
    return went


@pytest.mark.parametrize("next_value", ["/.//evil.example/login", "/..//evil.example/login"])
def test_login_page_next_cannot_leave_the_site(phone, site, next_value):
    data = seed(site, lambda: {"phone": make_trainee(name="李四").phone})
    page = phone.page
    went = _catch_offsite(page)
    phone.open(f"/h5/login?next={next_value}")
    page.fill("#username", data["phone"])
    page.fill("#password", "Passw0rd!")
    page.click("#submit")
    page.wait_for_url(lambda url: "/h5/login" not in url)  # 600 ms after the login succeeds
    assert not went, f"after login the trainee was sent off-site: {went}"
    assert page.url == f"{site.url}/h5/plans"  # the login page's own default


def test_wechat_login_then_bind_cannot_leave_the_site(phone, site):
    """The whole chain a stranger's link starts: 网页授权 (sandbox consent), the bind page,
    the trainee's password, then off-site (where a fake "请重新输入密码" page waits)."""
    data = seed(site, lambda: {"phone": make_trainee(name="王五").phone})
    went = _catch_offsite(phone.page)
    page = authorize(phone, "%2F.%2F%2Fevil.example%2Frelogin")
    page.fill("#username", data["phone"])
    page.fill("#password", "Passw0rd!")
    page.click("#submit")
    page.wait_for_url(lambda url: "/h5/bind" not in url)
    assert not went, f"after binding the trainee was sent off-site: {went}"
    assert page.url == f"{site.url}/h5/progress"  # where 网页授权 goes by default
