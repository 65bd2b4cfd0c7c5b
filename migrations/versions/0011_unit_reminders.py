"""unit reminders (placeholder, filled by the unit page work)

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
    pass


def downgrade():
    pass
