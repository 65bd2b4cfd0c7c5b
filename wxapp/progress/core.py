"""The pure core of the progress engine: played intervals, the clock as a budget, 防挂机
presence checks, coverage and completion rules. Plain values in and out; no database,
Redis or app.

Seconds are counted at 1-second resolution: a played stretch [from, to] covers the
half-open whole seconds [floor(from), floor(to)). Consecutive beacons share their edge
(one's `to` is the next one's `from`), so flooring both keeps them contiguous.

The Lua scripts (beacon.lua, presence.lua) apply the same rules on the hot path; integration
tests (test_progress_engine.py, test_progress_lua_properties.py) check that both agree
beacon by beacon.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
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
    """The end of a stretch that at most `elapsed_s` (plus the slack) may pay for."""
    allowed = max(elapsed_s, 0.0) + slack_s
    return min(end, start + allowed)


def millis(now: float) -> int:
    """The app clock as the beacon script sees it: sent as "%.3f" seconds, taken in whole ms.

    Both twins compute the credit budget in integer milliseconds, so a float's last bit
    never makes them floor differently.
    """
    return math.floor(float(f"{now:.3f}") * 1000 + 0.5)


def budget_seconds(now_ms: int, slack_ms: int, last_ms: int, clock_ms: int | None) -> int:
    """Whole seconds a beacon may credit: the clock as a budget.

    The trainee's credit clock (`clock_ms`) is where the credit given so far ends when it
    is laid on the wall clock, each second after the previous one and never before the
    beacon that opened the stretch (`last_ms`, the previous beacon of the same play). A
    beacon may lay more seconds up to `now + slack` and no further. So, across every play,
    chapter and device of the trainee, the credit laid from any moment on never exceeds the
    time since then plus the slack, once: a new play or a burst of beacons earns none anew.
    """
    start = last_ms if clock_ms is None else max(last_ms, clock_ms)
    allowed_ms = now_ms + slack_ms - start
    return max(0, math.floor(allowed_ms / 1000)) if allowed_ms > 0 else 0


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


LONG_CHAPTER_S = 300  # a chapter longer than this gets a presence check in every play of it


@dataclass(frozen=True)
class PresenceRules:
    """防挂机: a check after a random `min_s`..`max_s` seconds of credited playback (and
    within any chapter longer than 5 minutes), to be answered within `answer_s`."""

    min_s: int
    max_s: int
    answer_s: float

    def draw(self, rand: str) -> int:
        """Seconds of credit until the next check, from the server's random hex (`rand`)."""
        u = int(rand[0:6], 16) / 16777216
        return self.min_s + math.floor(u * (self.max_s - self.min_s + 1))

    def cap(self, rand: str, countdown: int, duration_s: int, watched_s: int) -> int:
        """Within a long chapter, the check comes before its unlearned part is played."""
        span = duration_s - watched_s
        if duration_s <= LONG_CHAPTER_S or span <= 60:
            return countdown
        u = int(rand[6:12], 16) / 16777216
        return min(countdown, 30 + math.floor(u * (span - 60)))


NO_PRESENCE = PresenceRules(0, 0, 0)
RAND_HEX = 24  # characters of server randomness per beacon: 12 for the draws, 12 for an id


def check_id(rand: str) -> str:
    return rand[12:RAND_HEX]


@dataclass
class ChapterHot:
    """One chapter's hot state, as the chapter hash keeps it."""

    intervals: list[Interval] = field(default_factory=list)
    position: int = 0
    done: bool = False


@dataclass(frozen=True)
class Check:
    """A presence check shown to the player: its id and when it fell due (ms)."""

    id: str
    due_ms: int


@dataclass
class PlayState:
    """The hot state of one trainee's player, as the Lua script keeps it (the play hash),
    and of the chapters it played (the chapter hashes)."""

    play_id: str | None = None
    last_at: float | None = None  # seconds since the epoch of the previous accepted beacon
    last_seq: int = -1
    last_chapter: int | None = None  # seq counts within one chapter of the play
    # The trainee's, across plays: where the credit laid on the wall clock ends (ms).
    credit_clock_ms: int | None = None
    countdown: int | None = None  # presence: seconds of credit until the next check
    check: Check | None = None  # presence: the check waiting for an answer
    answered: str | None = None  # the last check answered (a second tap is fine)
    paused_play: str | None = None  # the play stopped by a check left unanswered
    passed: int = 0
    missed: int = 0
    chapters: dict[int, ChapterHot] = field(default_factory=dict)

    def chapter(self, chapter_id: int) -> ChapterHot:
        return self.chapters.setdefault(chapter_id, ChapterHot())

    @property
    def intervals(self) -> list[Interval]:
        """The intervals of the chapter played last (one-chapter tests)."""
        return self.chapter(self.last_chapter or 0).intervals

    @property
    def position(self) -> int:
        return self.chapter(self.last_chapter or 0).position


@dataclass(frozen=True)
class Outcome:
    # "ok", "stale" (replayed or out-of-order seq: nothing changed), "superseded", "ended",
    # "paused" (a presence check of this play was left unanswered: it must be resumed)
    status: str
    watched_s: int
    newly_learned: bool = False
    check: Check | None = None  # a presence check waiting for an answer
    credited_s: int = 0  # seconds laid on the budget by this beacon


def _miss(state: PlayState, rules: PresenceRules, rand: str, paused: str | None) -> None:
    state.check, state.paused_play = None, paused
    state.countdown = rules.draw(rand)
    state.missed += 1


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
    presence: PresenceRules = NO_PRESENCE,
    rand: str = "0" * RAND_HEX,
) -> Outcome:
    """Apply one beacon to `state` in place; the reference for beacon.lua.

    - a beacon whose session (`session`, its cookie's mark) has `ended` answers "ended"
      and changes nothing, before anything else;
    - a play id seen before and taken over answers "superseded" and changes nothing;
    - a new play id takes over and credits nothing (it opens the play); a presence check
      still waiting goes over to it, one whose time ran out is dropped (the new play is
      the resume);
    - a play paused by an unanswered check answers "paused";
    - a seq not above the last one of the play in this chapter is stale: it changes nothing;
    - while a check waits, nothing is credited; once its answer time ran out, the play is
      paused;
    - otherwise the stretch is credited within the budget (`budget_seconds`), and up to the
      moment a presence check falls due, if one does.
    """
    ch = state.chapter(chapter_id)
    watched = covered(ch.intervals)
    if is_ended(session, ended):
        return Outcome("ended", watched)
    now_ms = millis(now)
    on = presence.min_s > 0
    check = state.check if on else None
    answer_ms = math.floor(presence.answer_s * 1000)
    if play_id != state.play_id:
        if play_id in superseded:
            return Outcome("superseded", watched)
        if state.play_id is not None:
            superseded.add(state.play_id)
        state.play_id, state.last_at, state.last_seq = play_id, now, seq
        state.last_chapter = chapter_id
        ch.position = math.floor(position)
        if on:
            if check is not None and now_ms > check.due_ms + answer_ms:
                _miss(state, presence, rand, None)
                check = None
            if check is None:
                countdown = presence.draw(rand) if state.countdown is None else state.countdown
                state.countdown = presence.cap(rand, countdown, duration_s, watched)
        return Outcome("ok", watched, check=check)
    if on and state.paused_play == play_id:
        return Outcome("paused", watched)
    if chapter_id == state.last_chapter and seq <= state.last_seq:
        return Outcome("stale", watched, check=check)
    entering = chapter_id != state.last_chapter
    last_ms = millis(now if state.last_at is None else state.last_at)
    state.last_at, state.last_seq, state.last_chapter = now, seq, chapter_id
    if check is not None:
        if now_ms > check.due_ms + answer_ms:
            _miss(state, presence, rand, play_id)
            return Outcome("paused", watched)
        ch.position = math.floor(position)
        return Outcome("ok", watched, check=check)
    budget = budget_seconds(now_ms, math.floor(slack_s * 1000), last_ms, state.credit_clock_ms)
    a = math.floor(start)
    n = min(max(math.floor(end) - a, 0), budget)
    if on:
        countdown = presence.draw(rand) if state.countdown is None else state.countdown
        if entering:
            countdown = presence.cap(rand, countdown, duration_s, watched)
        if n >= countdown:
            n = countdown
            state.check, state.countdown = Check(check_id(rand), now_ms), None
        else:
            state.countdown = countdown - n
    if n > 0:
        base = last_ms if state.credit_clock_ms is None else max(last_ms, state.credit_clock_ms)
        state.credit_clock_ms = base + n * 1000
    ch.intervals = union(ch.intervals, (a, a + n) if n > 0 else None)
    ch.position = math.floor(position)
    watched = covered(ch.intervals)
    newly = not ch.done and chapter_learned(watched, duration_s, ratio)
    ch.done = ch.done or newly
    return Outcome("ok", watched, newly, check=state.check if on else None, credited_s=n)


def answer_check(
    state: PlayState,
    *,
    play_id: str,
    check_id: str,
    now: float,
    presence: PresenceRules,
    rand: str,
) -> str:
    """An answer to a presence check; the reference for presence.lua.

    "ok" (answered in time: credit goes on from the answer, the next check is drawn; a
    second answer to the same check is also "ok"), "paused" (too late: the play is paused), "superseded" (not the
    trainee's current play), "unknown" (no such check waiting).
    """
    if play_id != state.play_id:
        return "superseded"
    if state.paused_play == play_id:
        return "paused"
    check = state.check
    if check is None or check.id != check_id:
        return "ok" if check is None and state.answered == check_id else "unknown"
    if millis(now) > check.due_ms + math.floor(presence.answer_s * 1000):
        _miss(state, presence, rand, play_id)
        return "paused"
    state.check, state.answered = None, check_id
    state.countdown = presence.draw(rand)
    state.passed += 1
    # Nothing was credited while the check waited; nor may it be after the answer: the
    # credit clock moves up to the answer, so the next stretch is laid from then on.
    state.credit_clock_ms = max(state.credit_clock_ms or 0, millis(now))
    return "ok"


def encode(intervals: Iterable[Sequence[int]]) -> str:
    """Intervals as the Redis hash keeps them: "a,b,c,d" (flat, comma separated)."""
    return ",".join(f"{int(a)},{int(b)}" for a, b in intervals)


def decode(text: str | None) -> list[Interval]:
    if not text:
        return []
    nums = [int(x) for x in text.split(",")]
    return [(nums[i], nums[i + 1]) for i in range(0, len(nums) - 1, 2)]
