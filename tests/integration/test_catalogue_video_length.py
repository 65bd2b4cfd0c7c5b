"""A course's 学时 against the length of its videos: 1 学时 is 45 minutes of video, and a
catalogue whose course is shorter loads with a warning (CLI, console), or not at all with
`catalogue load --strict`."""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from models import Chapter, Course, TrainingPlan, db
from tests.console_helpers import console_app, csrf_of, signed_in_admin
from wxapp.catalogue.spec import MINUTES_PER_HOUR, parse_catalogue

BOUND_S = 30 * MINUTES_PER_HOUR * 60  # a 30-学时 course needs 1350 minutes of video


def chapter(seconds: int, title: str = "第1节") -> dict:
    return {"title": title, "duration": seconds, "video_url": "/static/media/demo.mp4"}


def course(code: str, hours: float | str, *seconds: int, title: str = "课程") -> dict:
    return {
        "code": code,
        "title": title,
        "category": "综合管理",
        "hours": hours,
        "chapters": [chapter(s, f"第{n}节") for n, s in enumerate(seconds, start=1)],
    }


def catalogue(*courses: dict) -> dict:
    return {
        "plans": [
            {
                "code": "p-video-2030",
                "year": 2030,
                "kind": "public",
                "title": "2030年公需科目",
                "required_hours": 30,
                "price_per_hour_fen": 150,
                "courses": list(courses),
            }
        ]
    }


def long_enough(code: str = "c-long", hours: int = 30) -> dict:
    return course(code, hours, hours * MINUTES_PER_HOUR * 60)


def test_a_thirty_hour_course_of_one_minute_is_warned_about_with_its_path_and_numbers():
    parsed = parse_catalogue(
        catalogue(long_enough("c-a"), long_enough("c-b"), course("c-short", 30, 60, title="速成"))
    )
    assert parsed.warnings == [
        (
            "plans[0].courses[2]",
            "课程“速成”计 30 学时，视频合计 1 分钟，少于 30 × 45 = 1350 分钟；"
            "请核对章节时长（单位为秒）",
        )
    ]
    assert [p.code for p in parsed.plans] == ["p-video-2030"]  # still a valid catalogue


def test_a_course_at_exactly_the_bound_is_not_warned_about():
    split = course("c-split", "30", BOUND_S - 600, 600)  # two chapters adding up to the bound
    assert parse_catalogue(catalogue(split)).warnings == []
    assert parse_catalogue(catalogue(course("c-half", "0.5", 1350))).warnings == []
    one_second_short = parse_catalogue(catalogue(course("c-near", "30", BOUND_S - 1)))
    assert [path for path, _ in one_second_short.warnings] == ["plans[0].courses[0]"]
    assert "视频合计 1349.9 分钟" in one_second_short.warnings[0][1]


def test_a_shared_course_is_warned_about_where_it_is_defined_once():
    data = catalogue("c-top", course("c-here", "1.5", 90))
    data["courses"] = [course("c-top", 30, 60 * 25)]
    assert parse_catalogue(data).warnings == [
        ("courses[0]", "课程“课程”计 30 学时，视频合计 25 分钟，少于 30 × 45 = 1350 分钟；"
         "请核对章节时长（单位为秒）"),
        ("plans[0].courses[1]", "课程“课程”计 1.5 学时，视频合计 1.5 分钟，少于 1.5 × 45 = "
         "67.5 分钟；请核对章节时长（单位为秒）"),
    ]  # fmt: skip


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def _plans_and_courses() -> tuple[int, int, int]:
    return tuple(
        db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()
        for model in (TrainingPlan, Course, Chapter)
    )


def test_the_cli_loads_a_short_course_and_prints_the_warning_on_stderr(app, runner, tmp_path):
    path = _write(tmp_path, catalogue(course("c-short", 30, 60, title="速成")))
    result = runner.invoke(args=["catalogue", "load", str(path)])
    assert result.exit_code == 0, result.output
    assert "警告 plans[0].courses[0]: 课程“速成”计 30 学时，视频合计 1 分钟" in result.stderr
    assert "警告" not in result.stdout and "培训项目：新增 1" in result.stdout
    with app.app_context():
        assert _plans_and_courses() == (1, 1, 1)


def test_the_cli_with_strict_refuses_a_file_with_warnings_and_writes_nothing(app, runner, tmp_path):
    path = _write(tmp_path, catalogue(long_enough(), course("c-short", 30, 60, title="速成")))
    with app.app_context():
        before = _plans_and_courses()
    result = runner.invoke(args=["catalogue", "load", "--strict", str(path)])
    assert result.exit_code != 0
    assert "警告 plans[0].courses[1]: 课程“速成”计 30 学时" in result.stderr
    assert "1 条警告（--strict），未做任何更改" in result.stderr
    with app.app_context():
        assert _plans_and_courses() == before
    # A file without warnings loads under --strict as it does without.
    fine = _write(tmp_path, catalogue(long_enough()))
    result = runner.invoke(args=["catalogue", "load", "--strict", str(fine)])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


@pytest.fixture
def capp(base_config):
    with console_app(base_config) as app:
        yield app


def _post(client, token: str, data: dict, action: str, name: str = "short.json"):
    return client.post(
        "/admin/catalogue_load/",
        data={
            "csrf_token": token,
            "action": action,
            "file": (io.BytesIO(json.dumps(data).encode()), name),
        },
        content_type="multipart/form-data",
    )


def test_the_console_shows_the_warnings_escaped_before_the_operator_confirms(capp):
    client = signed_in_admin(capp)
    token = csrf_of(client.get("/admin/catalogue_load/").text)
    title = "<script>alert(1)</script>速成"
    data = catalogue(course("c-short", 30, 60, title=title))
    checked = _post(client, token, data, "check")
    assert checked.status_code == 200
    assert "<script>alert(1)</script>" not in checked.text
    assert "plans[0].courses[0]" in checked.text
    warning = f"课程“{html.escape(title)}”计 30 学时，视频合计 1 分钟，少于 30 × 45 = 1350 分钟"
    assert warning in checked.text
    assert "共 1 条警告" in checked.text and "尚未载入" in checked.text
    with capp.app_context():
        assert db.session.execute(sa.select(TrainingPlan.id)).first() is None
    # The confirmation carries the checked file; the page after it repeats the count.
    confirm = checked.text.split('id="catalogue-confirm"', 1)[1].split("</form>", 1)[0]
    assert "确认载入" in confirm and "含 1 条警告" in confirm
    carried = html.unescape(confirm.split('name="content" value="', 1)[1].split('"', 1)[0])
    assert json.loads(carried) == data
    loaded = client.post(
        "/admin/catalogue_load/",
        data={"csrf_token": token, "action": "load", "filename": "short.json", "content": carried},
        content_type="multipart/form-data",
    )
    assert "课程目录已载入，有 1 条警告" in loaded.text
    assert "<script>alert(1)</script>" not in loaded.text
    with capp.app_context():
        assert db.session.execute(sa.select(TrainingPlan.code)).scalars().all() == ["p-video-2030"]


def test_the_console_lists_at_most_50_warnings_and_counts_the_rest(capp):
    client = signed_in_admin(capp)
    token = csrf_of(client.get("/admin/catalogue_load/").text)
    short = [course(f"c-{n}", 1, 60, title=f"短课{n}") for n in range(53)]
    reply = _post(client, token, catalogue(*short, long_enough("c-long", 1)), "load")
    assert "课程目录已载入，有 53 条警告" in reply.text
    assert reply.text.count("请核对章节时长") == 50
    assert "另有 3 条警告未列出" in reply.text
    # The course list marks the short ones and filters on them.
    assert _codes(client, "c-7") == {"c-7": "1.0 视频时长不足"}
    assert _codes(client, "c-long") == {"c-long": "45.0"}
    assert _codes(client, "c-7", short=True) == {"c-7": "1.0 视频时长不足"}
    assert _codes(client, "c-long", short=True) == {}
    with capp.app_context():
        db.session.execute(sa.update(Chapter).values(duration_s=MINUTES_PER_HOUR * 60))
        db.session.commit()
    assert _codes(client, "c-7", short=True) == {}


def _codes(client, search: str, short: bool = False) -> dict[str, str]:
    """The course list's rows (code -> video cell) found by `search`, with the filter
    视频时长不足 when `short`."""
    page = client.get(f"/admin/courses/?search={search}" + ("&flt0_0=1" if short else "")).text

    def cells(column: str) -> list[str]:
        found = re.findall(rf'<td class="col-{column}">(.*?)</td>', page, re.S)
        return [" ".join(re.sub(r"<[^>]+>", "", cell).split()) for cell in found]

    return dict(zip(cells("code"), cells("video"), strict=True))


def test_the_demo_loads_its_one_minute_courses_and_says_why_in_one_line(app, runner):
    result = runner.invoke(args=["seed-demo", "--once"])
    assert result.exit_code == 0, result.output
    notes = [line for line in result.output.splitlines() if "学时 × 45 分钟" in line]
    assert len(notes) == 1 and "演示视频故意很短" in notes[0], result.output
