"""group orders (placeholder, filled by the orders work)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 08:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
