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
