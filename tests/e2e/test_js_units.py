"""The pages' pure JavaScript (learned stretches, the beacon tracker, money and 学时 text,
tolerant readers of replies), run as ES modules in the same Chromium."""

from __future__ import annotations

import pytest


@pytest.fixture
def js(phone):
    page = phone.open("/h5/login")

    def run(module: str, body: str):
        return page.evaluate(f"async () => {{ const m = await import('{module}'); {body} }}")

    return run


def test_learned_stretches_merge_and_count(js):
    merged = js(
        "/static/js/player/intervals.js",
        "return m.merge([[0, 10], [20, 30]], [[5, 12], [12, 15], [40, 40], [31, 29]]);",
    )
    # overlapping and adjacent stretches join; empty ones vanish; reversed ones are righted
    assert merged == [[0, 15], [20, 31]]
    assert js("/static/js/player/intervals.js", "return m.coverage([[0, 15], [20, 31]]);") == 26


def test_tracker_reports_played_stretches_and_restarts_on_a_seek(js):
    result = js(
        "/static/js/player/tracker.js",
        """
        const t = new m.StretchTracker(0);
        t.advance(7); t.advance(14.9); const early = t.due;
        t.advance(15.2); const due = t.due; const first = t.take();
        t.advance(20); t.restart(55); const afterSeek = t.take();
        t.advance(57); const lost = t.take(); t.giveBack(lost);
        return { early, due, first, afterSeek, again: t.take() };
        """,
    )
    assert result["early"] is False and result["due"] is True
    assert result["first"] == {"from": 0, "to": 15.2}
    assert result["afterSeek"] == {"from": 55, "to": 55}
    assert result["again"] == {"from": 55, "to": 57}


def test_money_and_hours_as_people_write_them(js):
    assert js(
        "/static/js/core/ui.js", "return [m.yuan(9000), m.yuan(5), m.yuan(123456), m.yuan(0)];"
    ) == ["90.00", "0.05", "1234.56", "0.00"]
    assert js("/static/js/core/ui.js", "return [m.hours(30), m.hours(1.5), m.hours('2.0')];") == [
        "30",
        "1.5",
        "2",
    ]


def test_replies_are_read_tolerantly(js):
    plan = js(
        "/static/js/api/progress.js",
        "return m.normalizePlanProgress({plan_id: 3, title: 'x', required_hours: 60,"
        " hours_done: 15, completed_at: '2025-07-01T00:00:00Z', extra: {a: 1}, courses: [{id: 9,"
        " state: 'learning', chapters: [{id: 1, duration: 60, watched_seconds: 30}]}]});",
    )
    assert plan["id"] == 3 and plan["done"] is True and plan["percent"] == 25
    assert plan["courses"][0]["done"] is False and plan["courses"][0]["started"] is True
    assert plan["courses"][0]["chapters"][0]["percent"] == 50


def test_next_stays_on_this_site_however_it_is_spelt(js):
    """A `next` with a tab or newline (dropped by the browser when navigating) or a
    backslash must not leave the site: "/\\t/evil.example" would be "//evil.example"."""
    result = js(
        "/static/js/pages/account-forms.js",
        """
        return ['/\\t/evil.example', '/\\n/evil.example', '/\\\\evil.example', '//evil.example',
                'https://evil.example/', '/%09/evil.example', 'javascript:alert(1)',
                '/h5/progress?year=2025#top', '/h5/course?id=3',
                '/.//evil.example/login', '/..//evil.example', '/%2e//evil.example',
                '/h5/../h5/plans?x=1']
          .map((raw) => m.safeNext(raw));
        """,
    )
    assert result[:7] == ["/h5/plans"] * 3 + ["/h5/plans"] * 2 + ["/%09/evil.example"] + [
        "/h5/plans"
    ]
    assert result[7:9] == ["/h5/progress?year=2025#top", "/h5/course?id=3"]
    # Dot segments collapse to the path "//evil.example", another site once navigated to.
    assert result[9:12] == ["/h5/plans"] * 3
    assert result[12] == "/h5/plans?x=1"
