"""Browser tests: Debian's chromium driven by Playwright (no browser download) at phone size.

`make test` installs both; without them these tests fail (they are never skipped). Each test
gets a fresh live server (sandbox on, FakeClock) and a 390x844 phone context; a page that
throws a JavaScript error fails the test. Screenshots go to tests/e2e/screenshots/.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import send_from_directory
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from handlers import beacons
from models import db
from tests.conftest import LiveServer, serve

CHROMIUM = "/usr/bin/chromium"
HERE = Path(__file__).resolve().parent
SCREENSHOTS = HERE / "screenshots"
MEDIA = HERE / "media"
TEST_VIDEO_URL = "/_e2e/media/chapter.webm"  # a 60 s WebM made with ffmpeg's testsrc
PHONE = {"width": 390, "height": 844}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    # A missing browser fails the run rather than skipping it: these tests are the product
    # as people meet it, and `make test` installs what they need.
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing (make test installs it)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def add_test_media(server: LiveServer) -> None:
    """Serve the test video with range support (the player seeks in it)."""

    def media(name: str):
        return send_from_directory(MEDIA, name, conditional=True)

    server.app.add_url_rule("/_e2e/media/<name>", "e2e_media", media)


@pytest.fixture
def site(base_config: dict[str, Any]) -> Iterator[LiveServer]:
    with serve(base_config) as server:
        add_test_media(server)
        yield server


class Phone:
    """A phone-sized browser tab on the live server, failing on any page JavaScript error or
    Content-Security-Policy violation."""

    def __init__(self, context: Any, base_url: str):
        self.context = context
        self.base_url = base_url
        self.errors: list[str] = []
        self.page = self.new_page()

    def new_page(self) -> Any:
        page = self.context.new_page()
        page.set_default_timeout(15_000)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("console", self._csp_violation)
        return page

    def _csp_violation(self, message: Any) -> None:
        """Something the page's Content-Security-Policy refused (an inline script, a
        style attribute, a foreign origin) is an error too: the pages must pass the CSP."""
        if message.type == "error" and "Content Security Policy" in message.text:
            self.errors.append(message.text)

    def open(self, path: str, page: Any = None) -> Any:
        page = page or self.page
        page.goto(self.base_url + path)
        page.wait_for_selector("#app[data-ready]")
        return page

    def shot(self, name: str, page: Any = None, full_page: bool = False) -> Path:
        """The phone's screen as the trainee sees it (full_page=True for the whole page)."""
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        (page or self.page).screenshot(path=str(path), full_page=full_page)
        return path


def _context(browser: Any, user_agent: str | None = None, **extra: Any) -> Any:
    options: dict[str, Any] = {
        "viewport": PHONE,
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
        "locale": "zh-CN",
        "timezone_id": "Asia/Shanghai",
        **extra,
    }
    if user_agent:
        options["user_agent"] = user_agent
    return browser.new_context(**options)


def _phone_on(browser: Any, site: LiveServer) -> Iterator[Phone]:
    """A phone in a fresh context of `browser`, failing the test on any page error."""
    context = _context(browser)
    p = Phone(context, site.url)
    try:
        yield p
    finally:
        context.close()
    assert not p.errors, f"JavaScript errors on the page: {p.errors}"


@pytest.fixture
def phone(browser: Any, site: LiveServer) -> Iterator[Phone]:
    yield from _phone_on(browser, site)


@pytest.fixture(scope="session")
def cached_browser(browser: Any) -> Iterator[Any]:
    """Chromium with the back/forward cache, as phones have it: Playwright launches it with
    `--disable-back-forward-cache`, so `browser` never restores a page on Back."""
    cached = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS,
        ignore_default_args=["--disable-back-forward-cache"],
    )
    try:
        yield cached
    finally:
        cached.close()


@pytest.fixture
def cached_phone(cached_browser: Any, site: LiveServer) -> Iterator[Phone]:
    """A phone whose Back button may restore a page from memory (`cached_browser`)."""
    yield from _phone_on(cached_browser, site)


@pytest.fixture
def new_phone(browser: Any, site: LiveServer) -> Iterator[Callable[..., Phone]]:
    """More phones (a second device, a PC-sized window)."""
    made: list[Phone] = []

    def make(**extra: Any) -> Phone:
        p = Phone(_context(browser, **extra), site.url)
        made.append(p)
        return p

    yield make
    for p in made:
        p.context.close()
    for p in made:
        assert not p.errors, f"JavaScript errors on the page: {p.errors}"


def wait_for(page: Any, expression: str, timeout: float = 15_000) -> Any:
    """Wait until `expression` is truthy in the page; its value.

    Playwright's `wait_for_function` builds its predicate with eval inside the page, which
    the pages' Content-Security-Policy (no 'unsafe-eval') refuses; `evaluate` goes through
    the DevTools protocol, which the policy does not govern.
    """
    deadline = time.monotonic() + timeout / 1000
    while True:
        try:
            value = page.evaluate(expression)
        except PlaywrightError:
            # A form post or a link is loading the next document: between the two there is
            # no body, or the old document's context is gone. Asked again once it is there.
            if time.monotonic() >= deadline:
                raise
            value = None
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"waited {timeout:.0f} ms for {expression}")
        time.sleep(0.05)


def seed(server: LiveServer, build: Callable[[], Any]) -> Any:
    """Run factory code against the live server's database and commit it.

    `build` should return plain values (ids, ID numbers): the ORM objects expire on commit.
    """
    with server.app.app_context():
        result = build()
        db.session.commit()
        return result


def route_missing(server: LiveServer, path: str, method: str = "GET") -> bool:
    """Whether the app has no route answering `method path` yet (another area's work)."""
    if path == beacons.PATH:  # served in front of Flask's dispatch, not in url_map
        return method not in beacons.METHODS
    adapter = server.app.url_map.bind("localhost")
    try:
        adapter.match(path, method=method)
    except RequestRedirect:
        return False
    except HTTPException:
        return True
    return False


def require_routes(server: LiveServer, *routes: tuple[str, str]) -> None:
    """Fail, naming the first missing route, if a route the page needs is gone."""
    for method, path in routes:
        if route_missing(server, path, method):
            pytest.fail(f"{method} {path}, which the page calls, is not served")


def copy_to_docs(path: Path, name: str) -> None:
    """With UPDATE_DOCS_SCREENSHOTS=1, keep this screenshot for the README (docs/screenshots/)."""
    if os.environ.get("UPDATE_DOCS_SCREENSHOTS") != "1":
        return
    docs = HERE.parent.parent / "docs" / "screenshots"
    docs.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, docs / name)


def authorize(phone: Phone, next_path: str) -> Any:
    """网页授权 through the real sandbox consent page; lands on the bind page (a new user)."""
    page = phone.page
    page.goto(f"{phone.base_url}/auth/wechat?next={next_path}")
    page.click("button[name=agree]")
    page.wait_for_url("**/h5/bind?next=*")
    page.wait_for_selector("#app[data-ready]")
    return page


def login(phone: Phone, username: str, password: str = "Passw0rd!") -> None:
    """Log the phone's browser context in through the API (the cookie is shared by its tabs)."""
    response = phone.page.request.post(
        phone.base_url + "/api/login", data={"username": username, "password": password}
    )
    assert response.ok, response.text()


@contextmanager
def clock_running(app: Any, speed: float = 1.0, step_s: float = 0.05) -> Iterator[None]:
    """Move the live server's FakeClock forward `speed` times as fast as real time.

    A player at playbackRate N and a clock at speed N are a trainee watching at 1x in
    compressed time: the server's wall-clock clamp still applies, nothing is cheated.
    """
    clock = app.extensions["clock"]
    stop = threading.Event()

    def run() -> None:
        last = time.monotonic()
        while not stop.wait(step_s):
            now = time.monotonic()
            clock.advance((now - last) * speed)
            last = now

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(2)


class BeaconLog:
    """The beacons a page sent (request bodies) and the statuses they got."""

    def __init__(self, page: Any):
        self.sent: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        page.on("request", self._request)
        page.on("response", self._response)

    def wait_for(
        self, page: Any, check: Callable[[list[dict[str, Any]]], bool], s: float = 10
    ) -> None:
        """Let the page's events arrive until `check(sent)` holds."""
        deadline = time.monotonic() + s
        while not check(self.sent):
            assert time.monotonic() < deadline, f"beacons never matched: {self.sent}"
            page.wait_for_timeout(100)

    def _request(self, request: Any) -> None:
        # (navigator.sendBeacon's body is not visible here; tests read it in the page.)
        if request.url.endswith("/api/beacons") and request.method == "POST" and request.post_data:
            self.sent.append(json.loads(request.post_data))

    def _response(self, response: Any) -> None:
        if response.url.endswith("/api/beacons"):
            self.statuses.append(response.status)


def confirm(page: Any, title: str) -> None:
    """Press the primary button of the confirmation dialog titled `title`."""
    dialog = page.wait_for_selector(".js_dialog .weui-dialog")
    assert title in dialog.inner_text()
    page.click(".js_dialog .weui-dialog__btn_primary")
