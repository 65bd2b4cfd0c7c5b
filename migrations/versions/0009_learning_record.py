"""learning record (placeholder, filled by the learning-record work)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 08:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
