"""A shared phone: one trainee logs out, the next person presses Back.

The browser's back/forward cache restores a page as it was drawn, without asking the
server: the last trainee's 个人信息, or a unit clerk's list of colleagues, would come back
after 退出登录. The pages are never kept (`no-store`), one restored anyway reloads and asks
who is signed in now, and logging out leaves no 个人信息 behind it in the history.
"""

from __future__ import annotations

from tests.e2e.conftest import confirm, login, seed
from tests.factories import make_plan, make_trainee, make_unit, make_unit_admin

NAME = "林秀英"
UNIT = "垫江县中医院"
COLLEAGUE = "欧阳未训"


def _log_out(page, site) -> None:
    page.click("#logout")
    confirm(page, "确定退出登录")
    page.wait_for_url("**/h5/login")
    page.wait_for_selector("#app[data-ready]")
    assert page.request.get(f"{site.url}/api/me").status == 401


def _back(page) -> str:
    """The phone's Back button; what the page then shows, once it settled."""
    page.go_back(wait_until="commit")
    page.wait_for_timeout(1200)  # a restored page reloads, then redirects to the login
    page.wait_for_load_state()
    return page.inner_text("body")


def test_back_after_logout_does_not_show_the_last_trainees_profile(cached_phone, site):
    unit = lambda: make_unit(name=UNIT, district="垫江县")  # noqa: E731
    data = seed(site, lambda: {"phone": make_trainee(name=NAME, unit=unit()).phone})
    login(cached_phone, data["phone"])
    page = cached_phone.open("/h5/profile")
    assert page.inner_text("#info-name") == NAME
    _log_out(page, site)

    shown = _back(page)
    assert NAME not in shown and UNIT not in shown, (page.url, shown[:300])


def test_back_after_a_clerks_logout_does_not_show_the_colleagues(cached_phone, site):
    def build():
        unit = make_unit(name=UNIT, district="垫江县")
        make_plan(kind="public", required_hours=30)
        make_trainee(name=COLLEAGUE, unit=unit)
        clerk = make_trainee(name="人事专员", unit=unit)
        make_unit_admin(clerk, unit)
        return {"phone": clerk.phone}

    data = seed(site, build)
    login(cached_phone, data["phone"])
    page = cached_phone.open("/h5/unit")
    page.wait_for_selector(f"text={COLLEAGUE}")
    page.goto(site.url + "/h5/profile")
    page.wait_for_selector("#app[data-ready]")
    _log_out(page, site)

    for _ in range(2):  # back past the login page, to wherever history still leads
        shown = _back(page)
        assert COLLEAGUE not in shown, (page.url, shown[:300])
