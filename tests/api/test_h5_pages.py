"""The H5 page routes: /h5/<name> serves the page, anything else is a 404, / goes to 培训项目."""

import pytest

PAGES = [
    "login",
    "bind",
    "plans",
    "plan",
    "group",
    "course",
    "progress",
    "certificates",
    "orders",
    "order",
    "group-orders",
]


@pytest.mark.parametrize("name", PAGES)
def test_each_agreed_page_is_served_as_html(client, name):
    with client.get(f"/h5/{name}") as response:
        assert response.status_code == 200
        assert response.mimetype == "text/html"
        body = response.get_data(as_text=True)
        cache = response.headers["Cache-Control"]
    assert f"/static/js/pages/{name}.js" in body
    assert "weui.min.css" in body
    # Never kept: the page it becomes shows someone's data (tests/e2e/test_back_after_logout.py).
    assert cache == "no-store"


@pytest.mark.parametrize(
    "path", ["/h5/nothing", "/h5/Login", "/h5/login.html", "/h5/..%2Fh5%2Flogin"]
)
def test_unknown_pages_are_404(client, path):
    with client.get(path, headers={"Accept": "text/html"}) as response:
        assert response.status_code == 404
        # A Chinese page a trainee can act on, not werkzeug's English "Not Found".
        page = response.get_data(as_text=True)
        assert "页面或资源不存在" in page and "返回首页" in page
        assert "Not Found" not in page


def test_a_wrong_method_on_a_page_is_a_chinese_405_keeping_allow(client):
    response = client.post(
        "/h5/login", headers={"Accept": "text/html", "Origin": "http://127.0.0.1:5000"}
    )
    assert response.status_code == 405 and "不支持该请求方式" in response.get_data(as_text=True)
    assert "GET" in response.headers["Allow"]


def test_root_goes_to_the_plan_list(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/h5/plans")


def test_weui_is_vendored_with_its_licence(client):
    with client.get("/static/vendor/weui/weui.min.css") as css:
        assert css.status_code == 200 and b".weui-btn" in css.data
    with client.get("/static/vendor/weui/LICENSE.txt") as licence:
        assert b"MIT License" in licence.data
