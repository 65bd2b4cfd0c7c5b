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


# --- the clock as a budget (issue 15) ---


def test_back_to_back_beacons_on_a_new_play_credit_only_the_slack():
    """The cheating script: a new play, then from=pos, to=pos+5 as fast as it can send."""
    p = Player(PlayState(), "a", set(), slack=5)
    p.send(0, 0, now=1000)
    watched = 0
    for i in range(12):  # 12 beacons in 0.1 s
        watched = p.send(5 * i, 5 * i + 5, now=1000 + 0.1 * (i + 1) / 12).watched_s
    assert watched <= 0.1 + 5


def test_a_beacon_every_two_seconds_credits_no_more_than_real_time():
    p = Player(PlayState(), "a", set(), slack=5, duration=600)
    p.send(0, 0, now=0)
    for i in range(30):  # 60 s of real time, 150 s claimed
        watched = p.send(5 * i, 5 * i + 5, now=2 * (i + 1)).watched_s
        assert watched <= 2 * (i + 1) + 5
    assert watched <= 65


def test_switching_play_ids_earns_no_new_slack():
    state, old = PlayState(), set()
    now, watched, pos = 0.0, 0, 0
    for i in range(20):  # a new play every 2 beacons, back to back
        p = Player(state, f"play{i}", old, slack=5, duration=600)
        p.send(pos, pos, now=now)
        for _ in range(2):
            now += 0.5
            watched = p.send(pos, pos + 5, now=now).watched_s
            pos += 5
    assert watched <= now + 5


def test_switching_chapters_and_devices_shares_one_budget():
    state, old = PlayState(), set()
    total = 0
    for i, chapter in enumerate([1, 2, 3, 1, 2, 3]):
        now = 100 + i * 1.0
        apply_beacon(
            state,
            play_id=f"d{i}",
            seq=0,
            start=0,
            end=0,
            position=0,
            now=now,
            duration_s=60,
            slack_s=5,
            ratio=0.95,
            superseded=old,
            chapter_id=chapter,
        )
        total += apply_beacon(
            state,
            play_id=f"d{i}",
            seq=1,
            start=0,
            end=60,
            position=60,
            now=now + 0.5,
            duration_s=60,
            slack_s=5,
            ratio=0.95,
            superseded=old,
            chapter_id=chapter,
        ).credited_s
    assert total <= (105.5 - 100) + 5


def test_an_honest_player_is_credited_every_second():
    p = Player(PlayState(), "a", set(), slack=5, duration=3600)
    p.send(0, 0, now=0)
    for i in range(240):  # an hour of 15 s beacons, a little late or early each
        jitter = (-0.3, 0.4, 0.0)[i % 3]
        watched = p.send(15 * i, 15 * i + 15, now=15 * (i + 1) + jitter).watched_s
    assert watched == 3600


# --- presence checks (防挂机) ---

RULES = core.PresenceRules(min_s=30, max_s=30, answer_s=60)
RAND = "000000" + "000000" + "abcdefabcdef"


def present(state, play_id, seq, start, end, now, old, *, duration=600, chapter=0, rand=RAND):
    return apply_beacon(
        state,
        play_id=play_id,
        seq=seq,
        start=start,
        end=end,
        position=end,
        now=now,
        duration_s=duration,
        slack_s=5,
        ratio=0.95,
        superseded=old,
        chapter_id=chapter,
        presence=RULES,
        rand=rand,
    )


def test_a_check_falls_due_and_nothing_is_credited_until_it_is_answered():
    state, old = PlayState(), set()
    present(state, "a", 0, 0, 0, 0, old)
    assert present(state, "a", 1, 0, 15, 15, old).check is None
    due = present(state, "a", 2, 15, 45, 45, old)  # 30 s of credit: the check is due
    assert due.watched_s == 30 and due.check == core.Check("abcdefabcdef", 45_000)
    waiting = present(state, "a", 3, 45, 60, 60, old)
    assert waiting.watched_s == 30 and waiting.check == due.check
    assert (
        core.answer_check(state, play_id="a", check_id="nope", now=61, presence=RULES, rand=RAND)
        == "unknown"
    )
    assert (
        core.answer_check(
            state, play_id="a", check_id="abcdefabcdef", now=61, presence=RULES, rand=RAND
        )
        == "ok"
    )
    assert (
        core.answer_check(
            state, play_id="a", check_id="abcdefabcdef", now=62, presence=RULES, rand=RAND
        )
        == "ok"
    )  # a second tap
    resumed = present(state, "a", 4, 60, 75, 76, old)
    assert resumed.watched_s == 45 and resumed.check is None and state.passed == 1


def test_the_time_a_check_waited_is_not_credited_after_the_answer():
    """A script that sends nothing while the check waits and answers at the last moment
    gets no credit for the wait: after the answer, only the time since it (and the slack)."""
    state, old = PlayState(), set()
    present(state, "a", 0, 0, 0, 0, old)
    due = present(state, "a", 1, 0, 30, 30, old)  # due at 30, nothing sent after it
    assert (
        core.answer_check(
            state, play_id="a", check_id=due.check.id, now=88, presence=RULES, rand=RAND
        )
        == "ok"
    )
    after = present(state, "a", 2, 30, 95, 89, old)
    assert after.credited_s == 6 and after.watched_s == 36  # 1 s since the answer + 5 slack


def test_an_unanswered_check_pauses_the_play_until_a_new_one_resumes():
    state, old = PlayState(), set()
    present(state, "a", 0, 0, 0, 0, old)
    present(state, "a", 1, 0, 30, 30, old)  # due at 30
    assert present(state, "a", 2, 30, 45, 91, old).status == "paused"  # 61 s later
    assert present(state, "a", 3, 45, 60, 106, old).status == "paused"
    assert (
        core.answer_check(
            state, play_id="a", check_id="abcdefabcdef", now=107, presence=RULES, rand=RAND
        )
        == "paused"
    )
    assert state.missed == 1
    assert present(state, "b", 0, 30, 30, 110, old).check is None  # 继续学习: a new play
    assert present(state, "b", 1, 30, 45, 125, old).watched_s == 45


def test_a_new_play_cannot_escape_a_waiting_check():
    state, old = PlayState(), set()
    present(state, "a", 0, 0, 0, 0, old)
    check = present(state, "a", 1, 0, 30, 30, old).check
    opened = present(state, "b", 0, 30, 30, 31, old)
    assert opened.check == check  # it goes over to the new play
    assert present(state, "b", 1, 30, 45, 46, old).watched_s == 30
    assert (
        core.answer_check(state, play_id="a", check_id=check.id, now=47, presence=RULES, rand=RAND)
        == "superseded"
    )
    assert (
        core.answer_check(state, play_id="b", check_id=check.id, now=47, presence=RULES, rand=RAND)
        == "ok"
    )


def test_a_long_chapter_gets_a_check_before_its_end_whatever_the_interval():
    rules = core.PresenceRules(min_s=600, max_s=1200, answer_s=60)
    for u in ("000000", "7fffff", "ffffff"):
        state, old = PlayState(), set()
        rand = "ffffff" + u + "abcdefabcdef"
        apply_beacon(
            state,
            play_id="a",
            seq=0,
            start=0,
            end=0,
            position=0,
            now=0,
            duration_s=360,
            slack_s=5,
            ratio=0.95,
            superseded=old,
            presence=rules,
            rand=rand,
        )
        assert 30 <= state.countdown <= 360 - 30
        checks = []
        for i in range(24):
            out = apply_beacon(
                state,
                play_id="a",
                seq=i + 1,
                start=15 * i,
                end=15 * i + 15,
                position=15 * i + 15,
                now=15 * (i + 1),
                duration_s=360,
                slack_s=5,
                ratio=0.95,
                superseded=old,
                presence=rules,
                rand=rand,
            )
            checks.append(out.check)
        assert any(checks)


def test_the_draw_spans_the_interval():
    rules = core.PresenceRules(min_s=600, max_s=1200, answer_s=60)
    assert rules.draw("000000") == 600 and rules.draw("ffffff") == 1200
    assert rules.cap("ffffff" + "ffffff", 1200, 200, 0) == 1200  # a short chapter: no cap
