"""Property tests (hypothesis) of the progress core: the union of played seconds, the
anti-skip clamp and the beacon rules, against a plain set-of-seconds model."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from wxapp.progress import core

SECONDS = st.integers(min_value=0, max_value=600)
stretches = st.lists(st.tuples(SECONDS, SECONDS).map(lambda t: (min(t), max(t))), max_size=25)


def seconds_of(intervals) -> set[int]:
    return {s for a, b in intervals for s in range(a, b)}


@given(stretches)
def test_union_covers_exactly_the_seconds_played(items):
    merged = core.union(items)
    assert seconds_of(merged) == seconds_of(items)
    assert core.covered(merged) == len(seconds_of(items))
    # sorted, disjoint and not even touching: one stretch per run of seconds
    assert all(b1 < a2 for (_, b1), (a2, _) in zip(merged, merged[1:], strict=False))
    assert all(a < b for a, b in merged)


@given(stretches, stretches)
def test_union_is_order_free_and_rewatching_adds_nothing(first, second):
    both = core.union(first + second)
    assert both == core.union(second + first)
    assert core.union(both + first) == both  # watching again what is covered: no change


@given(stretches, st.tuples(SECONDS, SECONDS).map(lambda t: (min(t), max(t))))
def test_adding_one_stretch_is_the_union_with_it(items, new):
    assert core.union(core.union(items), new) == core.union([*items, new])


@given(stretches)
def test_encode_decode_round_trip(items):
    merged = core.union(items)
    assert core.decode(core.encode(merged)) == merged


@given(
    st.floats(min_value=0, max_value=3600, allow_nan=False),
    st.floats(min_value=0, max_value=3600, allow_nan=False),
    st.floats(min_value=-10, max_value=3600, allow_nan=False),
    st.floats(min_value=0, max_value=30, allow_nan=False),
)
def test_clamp_never_credits_more_than_the_time_that_passed(start, length, elapsed, slack):
    end = start + length
    credited = core.clamp(start, end, elapsed, slack)
    assert start <= credited <= end
    assert credited - start <= max(elapsed, 0) + slack + 1e-9


beacon = st.tuples(
    st.integers(min_value=0, max_value=40),  # seq
    st.integers(min_value=0, max_value=120),  # from
    st.integers(min_value=0, max_value=30),  # length
    st.integers(min_value=0, max_value=40),  # seconds since the previous beacon
)


@settings(max_examples=200)
@given(st.lists(beacon, max_size=30))
def test_any_beacon_sequence_credits_at_most_the_wall_clock_time(beacons):
    """Whatever a player sends (seeks, replays, out-of-order seq, 2x speed), the seconds
    credited never exceed the wall-clock time since the play opened plus the slack per
    beacon, never shrink, and stay within the chapter."""
    duration, slack = 150, 5.0
    state, superseded, now = core.PlayState(), set(), 1_000_000.0
    core.apply_beacon(
        state,
        play_id="p",
        seq=0,
        start=0,
        end=0,
        position=0,
        now=now,
        duration_s=duration,
        slack_s=slack,
        ratio=0.95,
        superseded=superseded,
    )
    opened, accepted, watched = now, 0, 0
    for seq, start, length, gap in beacons:
        now += gap
        end = min(start + length, duration)
        start = min(start, end)
        outcome = core.apply_beacon(
            state,
            play_id="p",
            seq=seq,
            start=start,
            end=end,
            position=end,
            now=now,
            duration_s=duration,
            slack_s=slack,
            ratio=0.95,
            superseded=superseded,
        )
        accepted += outcome.status == "ok"
        assert outcome.watched_s >= watched  # progress never goes backwards
        watched = outcome.watched_s
        assert watched <= (now - opened) + slack * accepted + accepted  # +1 s rounding each
        assert watched <= duration


# --- the clock as a budget: any beacons of any plays of one trainee (issue 15) ---

SLACK = 5.0
step = st.tuples(
    st.sampled_from(["beacon", "beacon", "beacon", "new play"]),
    st.integers(min_value=0, max_value=2),  # chapter
    st.integers(min_value=0, max_value=120),  # from
    st.sampled_from([0, 1, 5, 5, 15, 30]),  # length
    st.sampled_from([0, 1, 50, 500, 2000, 15000, 40000]),  # ms since the previous step
)


def window_excess(log, slack=SLACK) -> float:
    """The largest (credit - window - slack) over windows [t1, t2]: the credit of beacons
    that arrived by t2 in plays opened at t1 or later. Positive means the clock was beaten."""
    worst = float("-inf")
    for t1, _ in {(t, p) for t, p, _, opened in log if opened}:
        credit = 0
        for t, play, got, _ in sorted(log):
            if t < t1 or opened_at(log, play) < t1:
                continue
            credit += got
            worst = max(worst, credit - (t - t1) - slack)
    return worst


def opened_at(log, play) -> float:
    return min(t for t, p, _, opened in log if p == play and opened)


def run_core(steps, presence=core.NO_PRESENCE):
    """Drive the pure core; returns [(time, play, credited seconds, opened a play)]."""
    state, superseded, now, log = core.PlayState(), set(), 1_000_000.0, []
    plays, seqs = 0, {}
    for kind, chapter, start, length, gap_ms in steps:
        now += gap_ms / 1000
        new = kind == "new play" or state.play_id is None
        if new:
            plays += 1
        play = f"p{plays}"
        seq = seqs[(play, chapter)] = seqs.get((play, chapter), -1) + 1
        end = min(start + length, 120)
        before = core.covered(state.chapter(chapter).intervals)
        outcome = core.apply_beacon(
            state,
            play_id=play,
            seq=seq,
            start=min(start, end),
            end=end,
            position=end,
            now=now,
            duration_s=120,
            slack_s=SLACK,
            ratio=0.95,
            superseded=superseded,
            chapter_id=chapter,
            presence=presence,
        )
        log.append((now, play, outcome.watched_s - before, new))
    return log


def run_old_rule(steps):
    """Today's rule before issue 15: each beacon may credit the time since the previous
    beacon of its play plus the slack."""
    now, log, last, plays, seen = 1_000_000.0, [], None, 0, {}
    for kind, chapter, start, length, gap_ms in steps:
        now += gap_ms / 1000
        new = kind == "new play" or last is None
        if new:
            plays += 1
            log.append((now, f"p{plays}", 0, True))
            last = now
            continue
        end = min(start + length, 120)
        credit_end = core.clamp(min(start, end), end, now - last, SLACK)
        last = now
        stretch = core.to_seconds(min(start, end), credit_end)
        before = core.covered(seen.get(chapter, []))
        seen[chapter] = core.union(seen.get(chapter, []), stretch)
        log.append((now, f"p{plays}", core.covered(seen[chapter]) - before, False))
    return log


@settings(max_examples=300, deadline=None)
@given(st.lists(step, max_size=40))
def test_no_window_is_credited_more_than_its_length_plus_the_slack(steps):
    assert window_excess(run_core(steps)) <= 0


@settings(max_examples=100, deadline=None)
@given(st.lists(step, max_size=40))
def test_with_presence_checks_the_budget_holds_too(steps):
    assert window_excess(run_core(steps, core.PresenceRules(20, 40, 30))) <= 0


CHEAT = [("new play", 0, 0, 0, 0)] + [("beacon", 0, 5 * i, 5, 8) for i in range(12)]


def test_the_property_fails_on_the_old_rule():
    """The cheating script (a new play, back-to-back from=pos, to=pos+5) beat the old rule
    by a minute; the budget holds it to the slack."""
    assert window_excess(run_old_rule(CHEAT)) > 50
    assert window_excess(run_core(CHEAT)) <= 0
    assert sum(got for _, _, got, _ in run_core(CHEAT)) <= 0.1 + SLACK
