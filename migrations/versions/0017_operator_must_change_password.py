"""operators.must_change_password: a password a 管理员 set is a temporary one

A 管理员 who sets another operator's password knows it; the operator must choose a new one
at the next sign-in, before any other console page opens. Existing operators keep theirs.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 10:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "operators",
        sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade():
    op.drop_column("operators", "must_change_password")
