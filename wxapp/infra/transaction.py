"""The transaction rule: a use case owns its transaction; helpers never commit.

A use case wraps its writes in `with transaction():`. The block commits when it ends and
rolls back when it raises, so nothing is half-written. Blocks nest: an inner block (a use
case called from a larger one, say a payment granting enrollments that complete a plan)
joins the outer transaction, and only the outermost block commits. An inner block that
raised dooms the whole transaction: if the outer block caught the error and carried on,
it rolls back at its end and raises `TransactionMisuse` instead of committing half of it.

The one other place a commit happens is `end_read()`: a use case that must call WeChat or
WeChat Pay over HTTP ends its read transaction first, so no row lock or snapshot is held
while it waits. It refuses to run inside a `transaction()` block, where it would commit
half of a use case.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from models import db

_DEPTH = "transaction_depth"  # session.info: how many transaction() blocks are open
_DOOMED = "transaction_doomed"  # session.info: an inner block raised


class TransactionMisuse(RuntimeError):
    """The rule broken by our own code (never a user's error): end_read() inside a block,
    or an outer block carrying on after an inner one failed."""


@contextmanager
def transaction() -> Iterator[None]:
    """Run the block as one database transaction (or as part of the enclosing one)."""
    info = db.session.info
    depth = info.get(_DEPTH, 0)
    info[_DEPTH] = depth + 1
    try:
        yield
        if depth == 0:
            if info.pop(_DOOMED, False):
                raise TransactionMisuse("an inner transaction() block failed; nothing committed")
            db.session.commit()
    except BaseException:
        if depth == 0:
            info.pop(_DOOMED, None)
            db.session.rollback()
        else:
            info[_DOOMED] = True
        raise
    finally:
        info[_DEPTH] = depth


def in_transaction() -> bool:
    """Whether a transaction() block is open (for helpers that assert their caller's)."""
    return db.session.info.get(_DEPTH, 0) > 0


def end_read() -> None:
    """End the read transaction before an HTTP call, so nothing is held while waiting."""
    if in_transaction():
        raise TransactionMisuse("end_read() inside a transaction() block")
    if db.session.new or db.session.dirty or db.session.deleted:
        raise TransactionMisuse("end_read() with unsaved changes in the session")
    db.session.commit()
