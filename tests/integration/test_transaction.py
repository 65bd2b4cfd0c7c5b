"""`transaction()` and `end_read()` (wxapp/infra/transaction.py) against the database.

Commits are counted with the session's `after_commit` event; what a commit made durable is
told apart from what is merely flushed by rolling the session back afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from models import Unit, db
from wxapp.infra.transaction import TransactionMisuse, end_read, in_transaction, transaction
from wxapp.orders.payment import apply_transaction


class Boom(Exception):
    pass


@contextmanager
def counting_commits() -> Iterator[list[object]]:
    """A list that gets one item per commit of the session while the block runs."""
    session = db.session()
    commits: list[object] = []

    def count(committed: object) -> None:
        commits.append(committed)

    sa.event.listen(session, "after_commit", count)
    try:
        yield commits
    finally:
        sa.event.remove(session, "after_commit", count)


def add_unit(name: str) -> None:
    db.session.add(Unit(name=name, district="垫江县"))
    db.session.flush()


def unit_names() -> set[str]:
    return set(db.session.execute(sa.select(Unit.name)).scalars())


def test_a_block_commits_once_when_it_ends(app):
    with app.app_context(), counting_commits() as commits:
        with transaction():
            add_unit("甲单位")
            assert in_transaction() and commits == []
        assert len(commits) == 1 and not in_transaction()
        db.session.rollback()  # cannot take back what was committed
        assert "甲单位" in unit_names()


def test_an_error_rolls_back_the_whole_block_and_propagates(app):
    with app.app_context(), counting_commits() as commits:
        with pytest.raises(Boom), transaction():
            add_unit("乙单位")
            add_unit("丙单位")
            raise Boom
        assert commits == [] and not in_transaction()
        assert {"乙单位", "丙单位"}.isdisjoint(unit_names())


def test_after_a_database_error_the_next_block_works(app):
    with app.app_context():
        with transaction():
            add_unit("丁单位")
        with pytest.raises(sa.exc.IntegrityError), transaction():
            add_unit("丁单位")  # the name is unique
        with transaction():
            add_unit("戊单位")
        db.session.rollback()
        assert {"丁单位", "戊单位"} <= unit_names()


def test_nested_blocks_commit_once_at_the_outermost(app):
    with app.app_context(), counting_commits() as commits:
        with transaction():
            add_unit("己单位")
            with transaction():
                add_unit("庚单位")
            assert commits == [] and in_transaction()  # the inner block joined the outer
        assert len(commits) == 1 and not in_transaction()
        db.session.rollback()
        assert {"己单位", "庚单位"} <= unit_names()


def test_an_error_in_an_inner_block_rolls_back_the_outer_one_too(app):
    with app.app_context(), counting_commits() as commits:
        with pytest.raises(Boom), transaction():
            add_unit("辛单位")
            with transaction():
                add_unit("壬单位")
                raise Boom
        assert commits == [] and not in_transaction()
        assert {"辛单位", "壬单位"}.isdisjoint(unit_names())


def test_an_outer_block_that_swallows_an_inner_failure_commits_nothing(app):
    """Catching an inner block's error and carrying on would commit half a use case."""
    with app.app_context(), counting_commits() as commits:
        with pytest.raises(TransactionMisuse), transaction():
            add_unit("癸单位")
            try:
                with transaction():
                    add_unit("子单位")
                    raise Boom
            except Boom:
                pass
            add_unit("丑单位")
        assert commits == [] and not in_transaction()
        assert {"癸单位", "子单位", "丑单位"}.isdisjoint(unit_names())
        with transaction():  # the next use case starts clean
            add_unit("寅单位")
        assert len(commits) == 1


def test_end_read_refuses_inside_a_block(app):
    with app.app_context(), counting_commits() as commits:
        with transaction():
            add_unit("癸单位")
            with pytest.raises(TransactionMisuse):
                end_read()
            assert commits == []  # half a use case was not committed
        assert len(commits) == 1


def test_end_read_refuses_unsaved_changes(app):
    with app.app_context(), counting_commits() as commits:
        db.session.add(Unit(name="子单位", district="垫江县"))
        with pytest.raises(TransactionMisuse):
            end_read()
        assert commits == []


def test_end_read_ends_a_read_transaction(app):
    with app.app_context(), counting_commits() as commits:
        unit_names()
        assert db.session().in_transaction()
        end_read()
        assert len(commits) == 1 and not db.session().in_transaction()


def test_the_paid_transition_refuses_to_run_outside_a_block(app, clock):
    # A helper that writes for its caller says so, rather than writing what nobody commits.
    tx = {"trade_state": "SUCCESS", "out_trade_no": "none"}
    with app.app_context(), counting_commits() as commits:
        with pytest.raises(TransactionMisuse):
            apply_transaction(tx, "test", "mchid", "appid", clock.now())
        assert commits == []
