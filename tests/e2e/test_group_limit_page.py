"""团体购买's line limit is the server's (wxapp.orders.group.MAX_LINES, documented in
docs/openapi.yaml): a paste of that many lines is sent and checked, one line more is
refused on the page in Chinese before anything is sent."""

from __future__ import annotations

from tests.e2e.conftest import login, seed
from tests.e2e.realdata import posted
from tests.factories import make_plan, make_trainee
from wxapp.orders.group import MAX_LINES


def paste(page, text: str) -> None:
    """What pasting into the box does: its value set at once, then an input event (typing
    ten thousand lines key by key is not what a clerk does, and takes minutes)."""
    page.eval_on_selector(
        "#ids",
        "(box, text) => { box.value = text; box.dispatchEvent(new Event('input')); }",
        text,
    )


def test_the_page_takes_as_many_lines_as_the_server_and_says_so_past_it(phone, site):
    def build():
        payer = make_trainee(name="单位经办人")
        return {"phone": payer.phone, "plan": make_plan(year=2025).id}

    data = seed(site, build)
    login(phone, data["phone"])
    page = phone.page
    sent = posted(page, "/api/group-orders")
    phone.open(f"/h5/group?plan={data['plan']}")
    assert page.inner_text(".weui-textarea-counter") == f"0 / {MAX_LINES} 行"

    # As many lines as the server takes (malformed: each comes back with its reason).
    paste(page, "\n".join(["12345"] * MAX_LINES))
    assert page.inner_text("#line-count") == str(MAX_LINES)
    page.click("#group-submit")
    summary = page.wait_for_selector("#group-summary", timeout=60_000).inner_text()
    assert f"{MAX_LINES} 行未通过" in summary
    assert len(sent) == 1

    paste(page, "\n".join(["12345"] * (MAX_LINES + 1)))
    page.click("#group-submit")
    tip = page.wait_for_selector(".weui-toptips").inner_text()
    assert tip == f"一次最多提交 {MAX_LINES} 行（当前 {MAX_LINES + 1} 行），请分批提交"
    page.wait_for_timeout(300)
    assert len(sent) == 1  # nothing more was sent
