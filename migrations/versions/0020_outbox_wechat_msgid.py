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
    op.add_column("outbox", sa.Column("wechat_msgid", sa.BigInteger(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        # The outbox holds a row for every push of the year: a plain CREATE INDEX would hold
        # back the completions that add rows while it is built, at a year-end deploy.
        with op.get_context().autocommit_block():
            op.create_index(
                "ix_outbox_wechat_msgid",
                "outbox",
                ["wechat_msgid"],
                postgresql_concurrently=True,
                if_not_exists=True,
            )
    else:
        op.create_index("ix_outbox_wechat_msgid", "outbox", ["wechat_msgid"])


def downgrade():
    op.drop_index("ix_outbox_wechat_msgid", table_name="outbox")
    op.drop_column("outbox", "wechat_msgid")
