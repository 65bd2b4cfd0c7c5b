"""Units (单位) to choose from, and the 38 区县 of 重庆市 (for 档案所在区县 when a unit is not listed)."""

from __future__ import annotations

import unicodedata
from difflib import SequenceMatcher
from typing import Any

from models import Unit, db

# 重庆市's 38 county-level divisions: 26 市辖区, 8 县 and 4 自治县.
CHONGQING_DISTRICTS: tuple[str, ...] = (
    "万州区",
    "涪陵区",
    "渝中区",
    "大渡口区",
    "江北区",
    "沙坪坝区",
    "九龙坡区",
    "南岸区",
    "北碚区",
    "綦江区",
    "大足区",
    "渝北区",
    "巴南区",
    "黔江区",
    "长寿区",
    "江津区",
    "合川区",
    "永川区",
    "南川区",
    "璧山区",
    "铜梁区",
    "潼南区",
    "荣昌区",
    "开州区",
    "梁平区",
    "武隆区",
    "城口县",
    "丰都县",
    "垫江县",
    "忠县",
    "云阳县",
    "奉节县",
    "巫山县",
    "巫溪县",
    "石柱土家族自治县",
    "秀山土家族苗族自治县",
    "酉阳土家族苗族自治县",
    "彭水苗族土家族自治县",
)


def is_district(name: str) -> bool:
    return name in CHONGQING_DISTRICTS


def unit_dict(unit: Unit) -> dict[str, Any]:
    return {"id": unit.id, "name": unit.name, "district": unit.district}


def search_units(q: str | None, district: str | None, limit: int) -> list[dict[str, Any]]:
    """Units whose name contains `q` (the chooser types part of the full name), by name."""
    query = db.select(Unit).order_by(Unit.name).limit(limit)
    if q:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Unit.name.ilike(f"%{escaped}%", escape="\\"))
    if district:
        query = query.where(Unit.district == district)
    return [unit_dict(u) for u in db.session.execute(query).scalars()]


# Compared without the 区县 (and 重庆市) the names of one 区县 share: 人民医院 ~ 人民医院(本部)
# 0.8, contained; ~ 中医院 0.57, ~ 人民政府 0.5, not alike.
SIMILAR_RATIO = 0.6
SIMILAR_SHOWN = 5


def _comparable(name: str, district: str) -> str:
    """A unit name as compared for likeness: full-width forms folded, no spaces, without
    the 重庆市 and 区县 it starts with."""
    text = "".join(unicodedata.normalize("NFKC", name).split())
    for prefix in ("重庆市", district):
        text = text.removeprefix(prefix)
    return text


def similar_units(name: str, district: str) -> list[dict[str, Any]]:
    """Registered units of `district` whose names look like `name` (but are not it), most
    alike first: before a roster creates a unit, whether it is one already registered under
    a slightly different full name (its staff would otherwise be split over two units)."""
    wanted = _comparable(name, district)
    if not wanted:
        return []
    scored = []
    for unit in db.session.execute(db.select(Unit).where(Unit.district == district)).scalars():
        other = _comparable(unit.name, district)
        if other == wanted:
            continue
        ratio = SequenceMatcher(None, wanted, other).ratio()
        if ratio >= SIMILAR_RATIO or wanted in other or other in wanted:
            scored.append((-ratio, unit.name, unit))
    return [unit_dict(u) for _, _, u in sorted(scored, key=lambda t: t[:2])[:SIMILAR_SHOWN]]
