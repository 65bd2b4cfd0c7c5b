"""wechat_bindings: drop those of accounts never activated

Before activation was required, a WeChat user could bind an account with its initial
password, which is public (it follows from the ID number). Such a binding logs nobody in
since, but the official account's chat (我的进度, 证书) and the unit's 一键提醒 still
answered it: the account's learning and its unit's name reached whoever had bound it.
Nothing makes such a binding any more (binding asks for an activated account's password,
and every password set, 客服's temporary one included, unbinds), so these are all left
from before.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 10:00:00.000000

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    op.execute(
        "DELETE FROM wechat_bindings WHERE trainee_id IN "
        "(SELECT id FROM trainees WHERE must_change_password)"
    )


def downgrade():
    pass  # a dropped binding is not made again: its WeChat user binds with the password
