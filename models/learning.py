"""The learning record (学习记录): every play of a chapter, as the write-behind flushed it."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import db


class LearningPlay(db.Model):
    """One play (a player's `play_id`) in one chapter: when it started and last beaconed,
    what it credited, its presence checks, and the device and address it came from.

    Written by the progress flusher (wxapp/progress/flusher.py) from the hot state in Redis,
    in batches; a play still going is updated in place at each flush, never duplicated.
    """

    __tablename__ = "learning_plays"

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(sa.ForeignKey("trainees.id"))
    chapter_id: Mapped[int] = mapped_column(sa.ForeignKey("chapters.id"), index=True)
    play_id: Mapped[str] = mapped_column(sa.String(64))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime] = mapped_column(index=True)  # its last beacon; retention by it
    credited_seconds: Mapped[int] = mapped_column(default=0)
    checks_passed: Mapped[int] = mapped_column(default=0)
    checks_missed: Mapped[int] = mapped_column(default=0)
    device: Mapped[str] = mapped_column(sa.String(32), default="")  # "iPhone 微信", ...
    address: Mapped[str] = mapped_column(sa.String(45), default="")  # the client's IP

    __table_args__ = (
        # A play id reused after its state was dropped from Redis starts a new row.
        sa.UniqueConstraint(
            "trainee_id", "chapter_id", "play_id", "started_at", name="uq_learning_plays_play"
        ),
        sa.Index("ix_learning_plays_trainee_chapter", "trainee_id", "chapter_id"),
        sa.CheckConstraint("credited_seconds >= 0", name="credited_not_negative"),
    )
