"""Loading the catalogue from JSON: `flask --app wsgi catalogue load FILE.json`."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from models import Chapter, ChapterProgress, Course, PlanCourse, TrainingPlan, db
from tests.factories import make_enrollment, make_trainee
from wxapp.catalogue.loader import load_catalogue
from wxapp.catalogue.spec import CatalogueFileError

DOC = Path(__file__).resolve().parents[2] / "docs" / "catalogue-format.md"
NOW = datetime(2025, 6, 16, 2, 0, tzinfo=UTC)


def example() -> dict:
    """The example of docs/catalogue-format.md, so the documentation stays true."""
    block = re.search(r"## Example\s+```json\n(.*?)```", DOC.read_text(), re.S)
    return json.loads(block.group(1))


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def counts() -> tuple[int, int, int, int]:
    return tuple(
        db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()
        for model in (TrainingPlan, Course, Chapter, PlanCourse)
    )


def test_example_loads_and_loading_twice_changes_nothing(app, runner, tmp_path):
    path = write(tmp_path, example())
    first = runner.invoke(args=["catalogue", "load", str(path)])
    assert first.exit_code == 0, first.output
    assert "培训项目：新增 2，更新 0，未变 0" in first.stdout
    assert "课程：新增 5" in first.stdout and "章节：新增 7" in first.stdout
    with app.app_context():
        before = counts()
        assert before == (2, 5, 7, 5)
        plan = db.session.execute(
            sa.select(TrainingPlan).where(TrainingPlan.code == "2025-public")
        ).scalar_one()
        assert plan.price_fen == 4500
        # A bare date is Beijing midnight.
        assert plan.sale_start == datetime(2024, 12, 31, 16, 0, tzinfo=UTC)
        assert [link.course.code for link in plan.courses] == [
            "2025-gx-ai",
            "2025-gx-digital-economy",
            "2025-gx-mental-health",
        ]
        soil = db.session.execute(
            sa.select(Course).where(Course.code == "2025-zy-soil")
        ).scalar_one()
        assert str(soil.hours) == "30.5"
        ids = sorted(db.session.execute(sa.select(Chapter.id)).scalars())

    second = runner.invoke(args=["catalogue", "load", str(path)])
    assert second.exit_code == 0, second.output
    assert "培训项目：新增 0，更新 0，未变 2" in second.stdout
    assert "未做任何更改" in second.stdout
    with app.app_context():
        assert counts() == before
        assert sorted(db.session.execute(sa.select(Chapter.id)).scalars()) == ids


def test_an_update_changes_a_title_and_adds_a_chapter(app, tmp_path):
    data = example()
    with app.app_context():
        first = load_catalogue(data, NOW)
        bim = first.course_ids["2025-zy-bim"]
        old_chapters = (
            db.session.execute(
                sa.select(Chapter.id).where(Chapter.course_id == bim).order_by(Chapter.position)
            )
            .scalars()
            .all()
        )

        changed = copy.deepcopy(data)
        course = changed["plans"][1]["courses"][0]
        course["title"] = "BIM技术在工程建设中的应用（2025版）"
        course["chapters"].append(
            {"title": "运维阶段的BIM", "duration": 60, "video_url": "/static/media/demo.mp4"}
        )
        summary = load_catalogue(changed, NOW)
        assert (summary.courses.updated, summary.courses.unchanged) == (1, 4)
        assert (summary.chapters.created, summary.chapters.unchanged) == (1, 7)
        assert summary.plans.unchanged == 2
        db.session.expire_all()
        course = db.session.get(Course, bim)
        assert course.title == "BIM技术在工程建设中的应用（2025版）"
        assert [c.id for c in course.chapters][:2] == old_chapters  # same ids, kept progress
        assert [c.title for c in course.chapters][-1] == "运维阶段的BIM"
        assert load_catalogue(changed, NOW).changed is False


def test_plan_course_list_follows_the_file(app):
    data = example()
    with app.app_context():
        load_catalogue(data, NOW)
        changed = copy.deepcopy(data)
        courses = changed["plans"][0]["courses"]
        courses.reverse()
        courses.pop()  # 2025-gx-ai leaves the plan...
        courses[0]["hours"] = 20  # ...and another course grows so the plan still offers 30
        summary = load_catalogue(changed, NOW)
        assert summary.plans.updated == 1
        plan = db.session.execute(
            sa.select(TrainingPlan).where(TrainingPlan.code == "2025-public")
        ).scalar_one()
        db.session.refresh(plan)
        assert [link.course.code for link in plan.courses] == [
            "2025-gx-mental-health",
            "2025-gx-digital-economy",
        ]
        # The dropped course stays: trainees may have learned it.
        assert db.session.execute(
            sa.select(Course).where(Course.code == "2025-gx-ai")
        ).scalar_one_or_none()


def spoiled() -> dict:
    data = example()
    data["plans"][0]["kind"] = "公需"
    data["plans"][0]["courses"][1]["hours"] = 1.25
    data["plans"][1]["courses"][1]["chapters"][0]["duration"] = "60"
    data["plans"][1]["courses"][0]["hour"] = 3
    data["plans"][1]["sale_start"] = "2025-13-01"
    data["plans"][1]["code"] = "2025-public"
    return data


def test_every_error_is_reported_with_its_path_and_nothing_is_written(app, runner, tmp_path):
    with pytest.raises(CatalogueFileError) as caught, app.app_context():
        load_catalogue(spoiled(), NOW)
    paths = sorted(path for path, _ in caught.value.errors)
    assert paths == [
        "plans[0].courses[1].hours",
        "plans[0].kind",
        "plans[1].code",
        "plans[1].courses[0].hour",
        "plans[1].courses[1].chapters[0].duration",
        "plans[1].sale_start",
    ]
    result = runner.invoke(args=["catalogue", "load", str(write(tmp_path, spoiled()))])
    assert result.exit_code == 1
    assert "plans[0].courses[1].hours: 学时应为大于 0 的数，最多一位小数" in result.stderr
    assert "有 6 处错误，未做任何更改" in result.output
    with app.app_context():
        assert counts() == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("spoil", "path", "words"),
    [
        (lambda d: d["plans"][0]["courses"].append("no-such-course"), "plans[0].courses[3]", "既未在文件中定义"),
        (lambda d: d["plans"][0].update(required_hours=300), "plans[0].courses", "少于要求的 300 学时"),
        (lambda d: d["plans"][0]["courses"].append("2025-gx-ai"), "plans[0].courses[3]", "重复"),
        (lambda d: d["plans"][1]["courses"].append({**d["courses"][0], "hours": 3}), "plans[1].courses[2]", "内容不同"),
        (lambda d: d["plans"][0].update(sale_end="2024-01-01"), "plans[0].sale_end", "应晚于"),
        (lambda d: d["plans"][0].update(courses=[]), "plans[0].courses", "非空列表"),
        (lambda d: d["plans"][0]["courses"][1].update(code="bad code"), "plans[0].courses[1].code", "字母"),
        (lambda d: d["plans"][0]["courses"][1]["chapters"][0].update(video_url="ftp://x"), "plans[0].courses[1].chapters[0].video_url", "开头"),
        (lambda d: d.update(extra=1), "extra", "未知字段"),
        (lambda d: d["plans"].__setitem__(0, []), "plans[0]", "JSON 对象"),
    ],
)  # fmt: skip
def test_each_problem_names_its_path(app, spoil, path, words):
    data = example()
    spoil(data)
    with pytest.raises(CatalogueFileError) as caught, app.app_context():
        load_catalogue(data, NOW)
    assert any(p == path and words in m for p, m in caught.value.errors), caught.value.errors


def test_broken_json_names_the_line(app, runner, tmp_path):
    path = tmp_path / "catalogue.json"
    path.write_text('{\n  "plans": [\n    {"code": }\n  ]\n}', encoding="utf-8")
    result = runner.invoke(args=["catalogue", "load", str(path)])
    assert result.exit_code == 1 and "JSON 格式错误：第 3 行" in result.stderr


def test_a_watched_chapter_is_not_deleted(app):
    data = example()
    with app.app_context():
        summary = load_catalogue(data, NOW)
        course_id = summary.course_ids["2025-zy-bim"]
        second = db.session.execute(
            sa.select(Chapter.id).where(Chapter.course_id == course_id, Chapter.position == 2)
        ).scalar_one()
        db.session.add(ChapterProgress(trainee_id=make_trainee().id, chapter_id=second))
        db.session.commit()

        shorter = copy.deepcopy(data)
        shorter["plans"][1]["courses"][0]["chapters"].pop()
        with pytest.raises(CatalogueFileError) as caught:
            load_catalogue(shorter, NOW)
        assert caught.value.errors == [
            ("plans[1].courses[0].chapters", "要删除的章节已有学员的学习记录，不能删除")
        ]
        db.session.execute(sa.delete(ChapterProgress))
        summary = load_catalogue(shorter, NOW)
        assert summary.chapters.deleted == 1
        assert db.session.get(Chapter, second) is None


def test_a_bought_plan_keeps_its_year_kind_and_required_hours(app):
    """Its buyers' 学时, certificates and reports count by them: the file may still change
    the title, price and sale window, not these."""
    data = example()
    with app.app_context():
        summary = load_catalogue(data, NOW)
        plan = data["plans"][0]
        make_enrollment(
            make_trainee(), db.session.get(TrainingPlan, summary.plan_ids[plan["code"]])
        )
        db.session.commit()

        changed = copy.deepcopy(data)
        changed["plans"][0]["year"] = plan["year"] + 1
        changed["plans"][0]["required_hours"] = plan["required_hours"] - 1
        with pytest.raises(CatalogueFileError) as caught:
            load_catalogue(changed, NOW)
        message = f"已有学员购买培训项目 {plan['code']}，不能修改{{}}；如需调整请另建培训项目"
        assert caught.value.errors == [
            ("plans[0].year", message.format("年度")),
            ("plans[0].required_hours", message.format("要求学时")),
        ]
        assert db.session.get(TrainingPlan, summary.plan_ids[plan["code"]]).year == plan["year"]

        retitled = copy.deepcopy(data)
        retitled["plans"][0]["title"] = "新名称"
        load_catalogue(retitled, NOW)
        assert db.session.get(TrainingPlan, summary.plan_ids[plan["code"]]).title == "新名称"


SHARED_MESSAGE = (
    "同时属于{where}的培训项目：一门课程的学时只计入一个年度的一类科目，"
    "请为其他年度或科目另建课程（另用课程代码）"
)


def test_a_course_is_not_offered_to_two_years_or_to_both_kinds(app):
    """A learned course counts toward every plan holding it: in a 2026 plan, a course of
    the 2025 plan would give last year's learning to this year (or to a 补学 year), and in
    a 专业 plan a 公需 course would count twice. Refused, in the file or against the
    plans already loaded, and nothing is written."""
    data = example()
    with app.app_context():
        load_catalogue(data, NOW)
        before = counts()
        next_year = {
            "plans": [
                {
                    **{k: v for k, v in data["plans"][0].items() if k != "courses"},
                    "code": "2026-public",
                    "year": 2026,
                    "title": "2026年专业技术人员继续教育公需科目",
                    "courses": ["2025-gx-ai", "2025-gx-digital-economy"],
                }
            ]
        }
        with pytest.raises(CatalogueFileError) as caught:
            load_catalogue(next_year, NOW)
        assert caught.value.errors[-2:] == [
            (
                "plans[0].courses[0]",
                "课程 2025-gx-ai " + SHARED_MESSAGE.format(where="2025年公需科目、2026年公需科目"),
            ),
            (
                "plans[0].courses[1]",
                "课程 2025-gx-digital-economy "
                + SHARED_MESSAGE.format(where="2025年公需科目、2026年公需科目"),
            ),
        ]
        both_kinds = copy.deepcopy(data)
        both_kinds["plans"][1]["courses"].append("2025-gx-ai")
        with pytest.raises(CatalogueFileError) as caught:
            load_catalogue(both_kinds, NOW)
        assert [message for _, message in caught.value.errors] == [
            "课程 2025-gx-ai " + SHARED_MESSAGE.format(where="2025年公需科目、2025年专业科目")
        ]
        assert counts() == before
        # Moving a course from one year's plan to another's, in one file, is fine.
        moved = copy.deepcopy(data)
        moved["plans"][0]["courses"] = [
            c for c in moved["plans"][0]["courses"] if c != "2025-gx-ai"
        ]
        moved["plans"][0]["courses"][0]["hours"] = 30
        moved["plans"].append(
            {**next_year["plans"][0], "courses": ["2025-gx-ai"], "required_hours": 10}
        )
        load_catalogue(moved, NOW)


def test_two_loads_of_one_file_at_once_both_succeed_and_write_it_once(live_app):
    """Two operators press 确认载入 at the same moment: the second waits for the first, then
    finds its courses and plans written and changes nothing (not a 500 on a unique code)."""
    import threading

    data = example()
    outcomes: list[object] = []
    start = threading.Barrier(3)

    def load() -> None:
        with live_app.app_context():
            start.wait()
            try:
                outcomes.append(load_catalogue(copy.deepcopy(data), datetime.now(UTC)))
            except Exception as err:  # the failure itself is what the test shows
                outcomes.append(err)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=load) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert [type(o).__name__ for o in outcomes] == ["LoadSummary"] * 3, outcomes
    with live_app.app_context():
        assert counts() == (2, 5, 7, 5)
