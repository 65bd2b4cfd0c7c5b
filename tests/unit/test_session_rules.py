"""The pure rule of ended sessions (wxapp/accounts/session_rules.py)."""

from wxapp.accounts.session_rules import (
    EndedSessions,
    SessionMark,
    is_ended,
    mark_of,
    next_epoch,
)


def test_a_session_ends_by_an_earlier_epoch_or_by_its_own_id():
    assert not is_ended(SessionMark(5, "a"), EndedSessions(5, frozenset({"b"})))
    assert is_ended(SessionMark(4, "a"), EndedSessions(5))
    assert is_ended(SessionMark(5, "a"), EndedSessions(5, frozenset({"a"})))
    # A cookie from before session ids is never ended by an id, only by the epoch.
    assert not is_ended(SessionMark(0, ""), EndedSessions(0, frozenset({""})))


def test_nothing_stored_and_no_mark_both_count_as_zero():
    assert not is_ended(mark_of({"tid": 1}), EndedSessions())
    assert not is_ended(SessionMark(1_750_000_000_000, "x"), EndedSessions())
    assert mark_of({"ep": True, "sid": 7}) == SessionMark(0, "")
    assert mark_of({"ep": 12, "sid": "s"}) == SessionMark(12, "s")


def test_an_epoch_always_goes_up_and_is_a_time_after_a_loss():
    assert next_epoch(0, 1_000) == 1_000  # Redis lost it: above every earlier ending
    assert next_epoch(1_000, 1_000) == 1_001
    assert next_epoch(5_000, 1_000) == 5_001  # a clock behind never lowers it
