"""The pure rules of the progress engine: union, clamp, coverage, completion."""

from decimal import Decimal

import pytest

from wxapp.progress import core
from wxapp.progress.core import PlayState, apply_beacon


@pytest.mark.parametrize(
    ("intervals", "new", "expected"),
    [
        ([], (0, 15), [(0, 15)]),
        ([(0, 15)], (10, 30), [(0, 30)]),  # overlapping
        ([(0, 15)], (15, 30), [(0, 30)]),  # adjacent: one stretch
        ([(0, 60)], (10, 20), [(0, 60)]),  # nested: re-watching adds nothing
        ([(10, 20)], (0, 60), [(0, 60)]),  # the new one contains the old
        ([(0, 10)], (20, 30), [(0, 10), (20, 30)]),  # a gap stays a gap
        ([(0, 10), (20, 30)], (10, 20), [(0, 30)]),  # filling the gap joins both
        ([(40, 50), (0, 10)], (5, 42), [(0, 50)]),  # unsorted input
        ([(0, 10)], (5, 5), [(0, 10)]),  # empty stretch
        ([(0, 10)], None, [(0, 10)]),
    ],
)
def test_union(intervals, new, expected):
    assert core.union(intervals, new) == expected
    assert core.covered(core.union(intervals, new)) == sum(b - a for a, b in expected)


def test_union_is_order_independent():
    stretches = [(30, 45), (0, 15), (15, 30), (10, 20), (50, 55)]
    forward, backward = [], []
    for s in stretches:
        forward = core.union(forward, s)
    for s in reversed(stretches):
        backward = core.union(backward, s)
    assert forward == backward == [(0, 45), (50, 55)]


def test_seconds_are_whole_and_consecutive_stretches_stay_contiguous():
    assert core.to_seconds(14.6, 29.7) == (14, 29)
    assert core.to_seconds(29.7, 44.9) == (29, 44)
    assert core.to_seconds(3.2, 3.9) is None
    assert core.union([(14, 29)], core.to_seconds(29.7, 44.9)) == [(14, 44)]


def test_clamp_keeps_at_most_wall_clock_plus_slack():
    assert core.clamp(0, 15, elapsed_s=15, slack_s=5) == 15
    assert core.clamp(0, 30, elapsed_s=15, slack_s=0) == 15  # 2x speed: half
    assert core.clamp(0, 600, elapsed_s=0.5, slack_s=0) == 0.5  # seek to the end
    assert core.clamp(100, 110, elapsed_s=-3, slack_s=2) == 102  # clock skew never adds


def test_percent_and_learned():
    assert core.percent(57, 60) == 95
    assert core.percent(59, 60) == 98
    assert core.percent(60, 60) == 100
    assert core.percent(0, 0) == 0
    assert core.chapter_learned(57, 60, 0.95)
    assert not core.chapter_learned(56, 60, 0.95)


def test_course_and_plan_rules():
    assert core.course_learned([1, 2, 3], [3, 2, 1, 9])
    assert not core.course_learned([1, 2, 3], [1, 2])
    assert not core.course_learned([], [1])  # a course without chapters gives nothing
    hours = core.plan_hours([Decimal("30"), Decimal("1.5")])
    assert hours == Decimal("31.5")
    assert not core.plan_complete(hours, 60)
    assert core.plan_complete(Decimal("60"), 60)
    assert core.plan_percent(Decimal("30"), 60) == 50
    assert core.plan_percent(Decimal("90"), 60) == 100


def test_encoding_round_trip():
    assert core.decode(core.encode([(0, 15), (20, 30)])) == [(0, 15), (20, 30)]
    assert core.decode("") == [] and core.encode([]) == ""


class Player:
    """Drives apply_beacon the way a player does, with its own seq."""

    def __init__(self, state, play_id, superseded, *, slack=0.0, duration=60, ratio=0.95):
        self.state, self.play_id, self.superseded = state, play_id, superseded
        self.seq, self.slack, self.duration, self.ratio = -1, slack, duration, ratio

    def send(self, start, end, now, position=None, seq=None):
        if seq is None:
            self.seq += 1
            seq = self.seq
        return apply_beacon(
            self.state,
            play_id=self.play_id,
            seq=seq,
            start=start,
            end=end,
            position=end if position is None else position,
            now=now,
            duration_s=self.duration,
            slack_s=self.slack,
            ratio=self.ratio,
            superseded=self.superseded,
        )


def test_first_beacon_of_a_play_credits_nothing():
    p = Player(PlayState(), "a", set())
    assert p.send(0, 15, now=1000).watched_s == 0
    assert p.send(15, 30, now=1015).watched_s == 15


def test_whole_chapter_in_15_second_beacons_is_learned_once():
    p = Player(PlayState(), "a", set(), slack=5)
    p.send(0, 0, now=0)
    learned = [p.send(t, t + 15, now=t + 15).newly_learned for t in range(0, 60, 15)]
    assert learned == [False, False, False, True]
    assert p.state.intervals == [(0, 60)]
    assert not p.send(0, 15, now=100).newly_learned  # re-watching: still once


def test_seek_to_the_end_credits_nothing():
    p = Player(PlayState(), "a", set())
    p.send(0, 0, now=0)
    assert p.send(60, 60, now=0.2).watched_s == 0  # the seek itself
    assert p.send(0, 60, now=0.4).watched_s == 0  # claiming the whole stretch at once
    assert p.state.intervals == []


def test_double_speed_player_gets_half():
    p = Player(PlayState(), "a", set(), duration=600)
    p.send(0, 0, now=0)
    for i in range(4):
        p.send(30 * i, 30 * (i + 1), now=15 * (i + 1))
    assert core.covered(p.state.intervals) == 60  # 120 s of video in 60 s of wall clock


def test_replayed_and_out_of_order_seq_change_nothing():
    p = Player(PlayState(), "a", set(), slack=5)
    p.send(0, 0, now=0, seq=0)
    p.send(0, 15, now=15, seq=1)
    p.send(15, 30, now=30, seq=2)
    before = (list(p.state.intervals), p.state.position, p.state.last_at)
    assert p.send(15, 30, now=31, seq=2).status == "stale"  # replayed
    assert p.send(0, 15, now=32, seq=1).status == "stale"  # late, out of order
    assert p.send(40, 59, now=33, seq=1).status == "stale"  # a forged old seq gains nothing
    assert (p.state.intervals, p.state.position, p.state.last_at) == before
    assert p.send(30, 45, now=45, seq=3).watched_s == 45


def test_a_new_play_takes_over_and_the_old_one_is_superseded():
    state, old = PlayState(), set()
    first, second = Player(state, "a", old), Player(state, "b", old)
    first.send(0, 0, now=0)
    first.send(0, 10, now=10)
    assert second.send(10, 10, now=11).status == "ok"  # takes over, credits nothing
    assert first.send(10, 20, now=20).status == "superseded"
    assert second.send(10, 20, now=21).watched_s == 20
