"""wechat_bindings.following_at: the time of the subscribe or unsubscribe last applied

WeChat does not deliver its pushes in order: an unsubscribe whose first delivery was lost is
retried seconds later, after the user has followed again. Applied in the order they came,
the older event unfollowed a follower, and every template message to them was skipped
until their next subscribe. An event older than the one recorded now changes nothing.
Existing bindings have none recorded: their next event applies.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 10:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "wechat_bindings",
        sa.Column("following_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade():
    op.drop_column("wechat_bindings", "following_at")
