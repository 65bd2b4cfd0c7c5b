"""Property tests (hypothesis) of beacon.lua and presence.lua on a real Redis with an
injected clock, against the pure core: any beacons of any plays, chapters and presence
answers of one trainee get the same replies from both, and no window of time is credited
more than its length plus PROGRESS_SLACK_S."""

from __future__ import annotations

import itertools
import random
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.test_progress_properties import window_excess
from wxapp.progress import core
from wxapp.progress.store import ProgressStore

SLACK, DURATION, COURSE, PLAN = 5.0, 400, 7, 9
CHAPTERS = (1, 2, 3)
trainees = itertools.count(900_000)  # a fresh trainee (its own keys) per example

step = st.tuples(
    st.sampled_from(["beacon"] * 5 + ["new play", "answer", "stale"]),
    st.sampled_from(CHAPTERS),
    st.integers(min_value=0, max_value=DURATION - 30),  # from
    st.sampled_from([0, 1, 5, 15, 15, 30]),  # length
    st.sampled_from([0, 3, 250, 900, 2000, 15000, 15000, 70000]),  # ms since the last step
    st.integers(min_value=0, max_value=16**24 - 1).map(lambda n: f"{n:024x}"),  # randomness
)


def seed(store: ProgressStore, tid: int) -> None:
    for chapter in CHAPTERS:
        store.load_chapter(
            tid,
            chapter,
            duration=DURATION,
            course_id=COURSE,
            intervals="",
            watched=0,
            position=0,
            done=False,
        )
    store.set_entitlements(tid, {"_": 1, f"c:{COURSE}": PLAN, f"p:{PLAN}": "0|60|0"}, "0")


def run_both(store: ProgressStore, steps, seen: Counter | None = None) -> list:
    seen = Counter() if seen is None else seen
    tid = next(trainees)
    seed(store, tid)
    rules = store.presence
    state, superseded, now, log = core.PlayState(), set(), 1_700_000_000.0, []
    plays, seqs, checks = 0, {}, set()
    for kind, chapter, start, length, gap_ms, rand in steps:
        now += gap_ms / 1000
        new = kind == "new play" or state.play_id is None
        plays += new
        play = f"p{plays}"
        if kind == "answer" and not new:
            check = sorted(checks)[-1] if checks else "none"
            got = store.answer(tid, play, check, now, rand=rand)
            expected = core.answer_check(
                state, play_id=play, check_id=check, now=now, presence=rules, rand=rand
            )
            assert got == expected
            seen[f"answer {got}"] += 1
            continue
        key = (play, chapter)
        seq = seqs[key] = seqs.get(key, -1) + (0 if kind == "stale" and key in seqs else 1)
        end = min(start + length, DURATION)
        before = core.covered(state.chapter(chapter).intervals)
        result = store.beacon(tid, chapter, play, seq, start, end, end, now, rand=rand)
        outcome = core.apply_beacon(
            state,
            play_id=play,
            seq=seq,
            start=start,
            end=end,
            position=end,
            now=now,
            duration_s=DURATION,
            slack_s=SLACK,
            ratio=0.95,
            superseded=superseded,
            chapter_id=chapter,
            presence=rules,
            rand=rand,
        )
        assert result.status == outcome.status
        seen[outcome.status] += 1
        if outcome.status in ("ok", "stale", "paused", "superseded"):
            assert result.watched == outcome.watched_s
        check = outcome.check if outcome.status in ("ok", "stale") else None
        if outcome.status in ("ok", "stale"):  # the replies that reach the player
            assert (result.check_id, result.check_due_ms) == (
                (check.id, check.due_ms) if check else ("", 0)
            )
        if check:
            checks.add(check.id)
            seen["check"] += 1
        log.append((now, play, outcome.watched_s - before, new))
    for chapter in CHAPTERS:
        hot = store.chapter_state(tid, chapter)
        assert core.decode(hot.intervals) == state.chapter(chapter).intervals
    return log


SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(st.lists(step, max_size=28))
def test_the_script_agrees_with_the_core_and_keeps_to_the_clock(redis_client, steps):
    store = ProgressStore(redis_client, slack_s=SLACK, ratio=0.95)
    assert window_excess(run_both(store, steps), SLACK) <= 0


@SETTINGS
@given(st.lists(step, max_size=28))
def test_with_presence_checks_the_script_agrees_with_the_core(redis_client, steps):
    rules = core.PresenceRules(min_s=20, max_s=60, answer_s=30)
    store = ProgressStore(redis_client, slack_s=SLACK, ratio=0.95, presence=rules)
    assert window_excess(run_both(store, steps), SLACK) <= 0


def test_a_long_random_run_takes_every_branch(redis_client):
    """One long seeded run, so every branch is known to be compared at least once."""
    rng = random.Random(15)
    kinds = ["beacon"] * 8 + ["new play", "answer", "stale"]
    steps = [
        (
            rng.choice(kinds),
            rng.choice(CHAPTERS),
            rng.randrange(DURATION - 30),
            rng.choice([0, 5, 15, 15, 30]),
            rng.choice([0, 250, 2000, 15000, 15000, 15000, 45000]),
            f"{rng.getrandbits(96):024x}",
        )
        for _ in range(600)
    ]
    rules = core.PresenceRules(min_s=20, max_s=60, answer_s=30)
    store = ProgressStore(redis_client, slack_s=SLACK, ratio=0.95, presence=rules)
    seen: Counter = Counter()
    # the rate limit (30 beacons a minute) is not what this is about: fresh trainees
    for i in range(0, len(steps), 25):
        assert window_excess(run_both(store, steps[i : i + 25], seen), SLACK) <= 0
    assert {"ok", "stale", "paused", "check", "answer ok", "answer unknown"} <= set(seen), seen
