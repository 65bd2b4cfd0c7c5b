"""operators.session_epoch: a console logout or a second-factor reset ends the sessions

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28 21:30:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "operators",
        sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade():
    op.drop_column("operators", "session_epoch")
