"""The demo catalogue: the notice's plans for 2025 and for the current year 2026.

Each year has a 公需科目 plan (30 学时) and a 专业科目 plan (60 学时 at 1.5 元/学时 =
90.00 元), each offering more 学时 than it requires, in the notice's six categories. Every
chapter plays the one tiny video shipped in static/, and courses are worth many 学时 for
one or two one-minute chapters, so a demo trainee learns a chapter in a minute, a course
in two and a whole plan in about five.
"""

from __future__ import annotations

from typing import Any

VIDEO_URL = "/static/media/demo.mp4"
# The video's real length: `ffprobe -v error -show_entries format=duration
# static/media/demo.mp4` prints 60.000000 (160x90 H.264 test pattern, 5 fps, no audio, 47 KB).
VIDEO_SECONDS = 60

PROVIDER = "重庆市人力资源开发服务中心"
PRICE_PER_HOUR_FEN = 150  # 1.5 元/学时 (the notice's specialist price; used for 公需 too)

# (code, title, category, teacher, 学时, chapter titles)
Course = tuple[str, str, str, str, int, tuple[str, ...]]

PUBLIC_COURSES: dict[int, list[Course]] = {
    2025: [
        ("gx-digital", "数字经济与高质量发展", "宏观经济", "李明华 研究员", 10,
         ("数字经济的内涵与测度", "数据要素市场化配置")),
        ("gx-ai", "人工智能赋能千行百业", "综合管理", "周志远 教授", 10, ("人工智能的发展脉络",)),
        ("gx-mind", "专业技术人员心理健康与压力管理", "综合管理", "陈静 副教授", 8,
         ("识别职业压力",)),
        ("gx-carbon", "碳达峰碳中和的路径与行动", "生态环保", "赵清和 教授", 8,
         ("“双碳”目标的由来", "重点行业减排路径")),
        ("gx-rural", "乡村振兴战略解读", "农业技术", "刘丰收 研究员", 6, ("产业振兴与人才振兴",)),
        ("gx-ip", "科技创新与知识产权保护", "教育新知", "孙立德 教授", 6, ("专利申请与运用",)),
    ],
    2026: [
        ("gx-plan15", "“十五五”规划纲要解读", "宏观经济", "李明华 研究员", 10,
         ("“十五五”的目标任务", "新质生产力与现代化产业体系")),
        ("gx-ai", "生成式人工智能与职业发展", "综合管理", "周志远 教授", 10,
         ("大模型能做什么、不能做什么",)),
        ("gx-law", "专业技术人员职业道德与法治素养", "综合管理", "许文 教授", 8, ("依法履职",)),
        ("gx-eco", "美丽中国建设与生态文明", "生态环保", "赵清和 教授", 8,
         ("生态文明的制度体系", "减污降碳协同增效")),
        ("gx-data", "数据安全与个人信息保护", "教育新知", "孙立德 教授", 6, ("数据分类分级",)),
        ("gx-chengyu", "成渝地区双城经济圈建设", "宏观经济", "陈国栋 教授", 6, ("双城联动的重点",)),
    ],
}  # fmt: skip

SPECIALIST_COURSES: list[Course] = [
    ("zy-bim", "BIM技术在工程建设全过程中的应用", "工程建设", "王建国 高级工程师", 20,
     ("BIM建模基础", "施工阶段的BIM协同")),
    ("zy-prefab", "装配式建筑施工与质量控制", "工程建设", "张伟 教授级高级工程师", 12,
     ("构件生产与吊装", "节点连接质量验收")),
    ("zy-unit", "新课标背景下的大单元教学设计", "教育新知", "林晓燕 特级教师", 15,
     ("大单元的学习目标", "表现性评价设计")),
    ("zy-smart", "教育数字化转型与智慧课堂", "教育新知", "黄志强 教授", 10, ("智慧课堂的教学模式",)),
    ("zy-soil", "耕地质量提升与测土配方施肥", "农业技术", "刘丰收 农技推广研究员", 20,
     ("土壤养分诊断",)),
    ("zy-pest", "山地特色高效农业与病虫害绿色防控", "农业技术", "何春来 研究员", 10,
     ("柑橘黄龙病的识别", "绿色防控技术集成")),
    ("zy-region", "区域经济协调发展与县域经济", "宏观经济", "陈国栋 教授", 20,
     ("县域经济的比较优势", "园区建设与招商引资")),
    ("zy-water", "长江上游生态屏障建设与水污染防治", "生态环保", "杨碧波 教授", 15,
     ("流域综合治理", "农村生活污水处理")),
    ("zy-project", "项目管理实务与团队协作", "综合管理", "吴敏 高级经济师", 10, ("进度与成本控制",)),
    ("zy-writing", "公文写作与政务信息处理", "综合管理", "郑晓东 副研究员", 8, ("常用公文的写法",)),
]  # fmt: skip

SALE_START = {2025: "2025-06-06", 2026: "2026-01-01"}  # no end: past years stay open for 补训


def plan_code(year: int, kind: str) -> str:
    return f"demo-{year}-{kind}"


def _course(year: int, course: Course) -> dict[str, Any]:
    code, title, category, teacher, hours, chapters = course
    return {
        "code": f"demo-{year}-{code}",
        "title": title,
        "category": category,
        "hours": hours,
        "teacher": teacher,
        "description": f"{title}（{category}，{hours} 学时，{teacher}主讲）。",
        "chapters": [
            {"title": f"第{n}节 {name}", "duration": VIDEO_SECONDS, "video_url": VIDEO_URL}
            for n, name in enumerate(chapters, start=1)
        ],
    }


def demo_catalogue(years: tuple[int, ...] = (2025, 2026)) -> dict[str, Any]:
    """The demo catalogue in the loader's format (docs/catalogue-format.md)."""
    plans = []
    for year in years:
        plans.append(
            {
                "code": plan_code(year, "public"),
                "year": year,
                "kind": "public",
                "title": f"{year}年专业技术人员继续教育公需科目",
                "provider": PROVIDER,
                "required_hours": 30,
                "price_per_hour_fen": PRICE_PER_HOUR_FEN,
                "sale_start": SALE_START[year],
                "courses": [_course(year, c) for c in PUBLIC_COURSES[year]],
            }
        )
        plans.append(
            {
                "code": plan_code(year, "specialist"),
                "year": year,
                "kind": "specialist",
                "title": f"{year}年专业技术人员继续教育专业科目",
                "provider": PROVIDER,
                "required_hours": 60,
                "price_per_hour_fen": PRICE_PER_HOUR_FEN,
                "sale_start": SALE_START[year],
                "courses": [_course(year, c) for c in SPECIALIST_COURSES],
            }
        )
    return {"plans": plans}
