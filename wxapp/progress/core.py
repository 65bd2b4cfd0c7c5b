"""The pure core of the progress engine: played intervals, the anti-skip clamp, coverage and
completion rules. Plain values in and out; no database, Redis or app.

Seconds are counted at 1-second resolution: a played stretch [from, to] covers the
half-open whole seconds [floor(from), floor(to)). Consecutive beacons share their edge
(one's `to` is the next one's `from`), so flooring both keeps them contiguous.

The Lua script (beacon.lua) applies the same rules on the hot path; an integration test
checks that both agree beacon by beacon.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from wxapp.accounts.session_rules import (
    NO_MARK,
    NOTHING_ENDED,
    EndedSessions,
    SessionMark,
    is_ended,
)

Interval = tuple[int, int]


def to_seconds(start: float, end: float) -> Interval | None:
    """The whole seconds a stretch covers, or None when it covers none."""
    a, b = math.floor(start), math.floor(end)
    return (a, b) if b > a else None


def union(intervals: Iterable[Sequence[int]], new: Interval | None = None) -> list[Interval]:
    """Sorted, disjoint, non-adjacent half-open intervals covering the inputs (and `new`)."""
    items = sorted((int(a), int(b)) for a, b in intervals if int(b) > int(a))
    if new is not None and new[1] > new[0]:
        items = sorted([*items, new])
    merged: list[Interval] = []
    for a, b in items:
        if merged and a <= merged[-1][1]:  # overlapping or adjacent: one stretch
            if b > merged[-1][1]:
                merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def covered(intervals: Iterable[Sequence[int]]) -> int:
    """Seconds covered by disjoint intervals."""
    return sum(int(b) - int(a) for a, b in intervals)


def clamp(start: float, end: float, elapsed_s: float, slack_s: float) -> float:
    """The end of the stretch that may be credited: no more than the wall-clock time since
    the previous beacon of the same play (speed 1.0) plus the slack. The excess is dropped."""
    allowed = max(elapsed_s, 0.0) + slack_s
    return min(end, start + allowed)


def percent(watched_s: int, duration_s: int) -> int:
    """Whole percent, never 100 before every second is covered."""
    if duration_s <= 0:
        return 0
    return min(100, math.floor(watched_s * 100 / duration_s))


def chapter_learned(watched_s: int, duration_s: int, ratio: float) -> bool:
    """A chapter is learned at `ratio` coverage (PROGRESS_COMPLETE_RATIO, 0.95 by default)."""
    return watched_s >= ratio * duration_s


def course_learned(chapter_ids: Iterable[int], learned_ids: Iterable[int]) -> bool:
    """A course is learned when every one of its chapters is ("需学习完每个章节才可获得学分")."""
    chapters = set(chapter_ids)
    return bool(chapters) and chapters <= set(learned_ids)


def plan_hours(course_hours: Iterable[Decimal]) -> Decimal:
    """学时 done in a plan: the sum over its learned courses (自选: any of them count)."""
    return sum(course_hours, Decimal(0))


def plan_complete(hours_done: Decimal, required: int | Decimal) -> bool:
    return hours_done >= Decimal(required)


def plan_percent(hours_done: Decimal, required: int | Decimal) -> int:
    """计划完成度 in whole percent, capped at 100."""
    if Decimal(required) <= 0:
        return 100
    return min(100, math.floor(hours_done * 100 / Decimal(required)))


@dataclass
class PlayState:
    """The hot state of one trainee's player and one chapter, as the Lua script keeps it."""

    play_id: str | None = None
    last_at: float | None = None  # seconds since the epoch of the previous accepted beacon
    last_seq: int = -1
    last_chapter: int | None = None  # seq counts within one chapter of the play
    intervals: list[Interval] | None = None
    position: int = 0
    done: bool = False


@dataclass(frozen=True)
class Outcome:
    # "ok", "stale" (replayed or out-of-order seq: nothing changed), "superseded", "ended"
    status: str
    watched_s: int
    newly_learned: bool = False


def apply_beacon(
    state: PlayState,
    *,
    play_id: str,
    seq: int,
    start: float,
    end: float,
    position: float,
    now: float,
    duration_s: int,
    slack_s: float,
    ratio: float,
    superseded: set[str],
    chapter_id: int = 0,
    session: SessionMark = NO_MARK,
    ended: EndedSessions = NOTHING_ENDED,
) -> Outcome:
    """Apply one beacon to `state` in place; the reference for beacon.lua.

    - a beacon whose session (`session`, its cookie's mark) has `ended` answers "ended"
      and changes nothing, before anything else;
    - a play id seen before and taken over answers "superseded" and changes nothing;
    - a new play id takes over and credits nothing (it opens the play);
    - a seq not above the last one of the play in this chapter is stale: it changes nothing;
    - otherwise the stretch is clamped to the wall-clock time since the previous beacon.
    """
    intervals = state.intervals or []
    watched = covered(intervals)
    if is_ended(session, ended):
        return Outcome("ended", watched)
    if play_id != state.play_id:
        if play_id in superseded:
            return Outcome("superseded", watched)
        if state.play_id is not None:
            superseded.add(state.play_id)
        state.play_id, state.last_at, state.last_seq = play_id, now, seq
        state.last_chapter = chapter_id
        state.position = math.floor(position)
        state.intervals = intervals
        return Outcome("ok", watched)
    if chapter_id == state.last_chapter and seq <= state.last_seq:
        return Outcome("stale", watched)
    last_at = now if state.last_at is None else state.last_at
    credit_end = clamp(start, end, now - last_at, slack_s)
    state.last_at, state.last_seq, state.last_chapter = now, seq, chapter_id
    state.intervals = union(intervals, to_seconds(start, credit_end))
    state.position = math.floor(position)
    watched = covered(state.intervals)
    newly = not state.done and chapter_learned(watched, duration_s, ratio)
    state.done = state.done or newly
    return Outcome("ok", watched, newly)


def encode(intervals: Iterable[Sequence[int]]) -> str:
    """Intervals as the Redis hash keeps them: "a,b,c,d" (flat, comma separated)."""
    return ",".join(f"{int(a)},{int(b)}" for a, b in intervals)


def decode(text: str | None) -> list[Interval]:
    if not text:
        return []
    nums = [int(x) for x in text.split(",")]
    return [(nums[i], nums[i + 1]) for i in range(0, len(nums) - 1, 2)]
