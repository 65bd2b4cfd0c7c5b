"""session ends kept in PostgreSQL: what Redis checks on every request, restorable

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28 18:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "session_ends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trainee_id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=True),
        sa.Column("session_id", sa.String(length=32), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(epoch IS NULL) <> (session_id IS NULL)", name=op.f("ck_session_ends_one_kind")
        ),
        sa.ForeignKeyConstraint(
            ["trainee_id"], ["trainees.id"], name=op.f("fk_session_ends_trainee_id_trainees")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_ends")),
    )
    op.create_index(op.f("ix_session_ends_ended_at"), "session_ends", ["ended_at"])
    op.create_index("ix_session_ends_trainee_id_id", "session_ends", ["trainee_id", "id"])


def downgrade():
    op.drop_table("session_ends")
