"""unit reminders

unit_reminders: each 一键提醒 a unit administrator sent one of its staff (the week's limit
per trainee is read from it).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 08:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "unit_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trainee_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("sent_by", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["trainee_id"], ["trainees.id"], name=op.f("fk_unit_reminders_trainee_id_trainees")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_unit_reminders_unit_id_units")
        ),
        sa.ForeignKeyConstraint(
            ["sent_by"], ["trainees.id"], name=op.f("fk_unit_reminders_sent_by_trainees")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_reminders")),
    )
    with op.batch_alter_table("unit_reminders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_unit_reminders_unit_id"), ["unit_id"], unique=False
        )
        batch_op.create_index(
            "ix_unit_reminders_trainee_sent", ["trainee_id", "sent_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("unit_reminders", schema=None) as batch_op:
        batch_op.drop_index("ix_unit_reminders_trainee_sent")
        batch_op.drop_index(batch_op.f("ix_unit_reminders_unit_id"))
    op.drop_table("unit_reminders")
