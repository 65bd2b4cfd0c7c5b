"""outbox.wechat_msgid: WeChat's msgid of the row's latest accepted template message

A msgid only says that WeChat accepted the send; whether the message reached the user comes
later, as a TEMPLATESENDJOBFINISH event pushed to /wechat that names the msgid. Without it
kept, a push WeChat reported as failed stayed `sent`: no error, no retry, nothing in the
console. The report now finds its row by this msgid (hence the index). Existing rows have
none: a report about them finds nothing and changes nothing.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 10:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wechat_msgid", sa.BigInteger(), nullable=True))
        batch_op.create_index(batch_op.f("ix_outbox_wechat_msgid"), ["wechat_msgid"], unique=False)


def downgrade():
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_wechat_msgid"))
        batch_op.drop_column("wechat_msgid")
