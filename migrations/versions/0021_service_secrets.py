"""service_secrets: keys the service makes once and never rotates

忘记密码 answers an ID number that has no account with made-up last four digits of a phone,
the same every time. They were an HMAC under SECRET_KEY: rotating that key changed every
unknown ID number's digits and none of the accounts', so whoever asked before and after
learnt which ID numbers have an account. The key is now one of the service's own, made here
(so a request only reads it, even from a database that takes no writes) and kept for ever.
(This deploy changes the digits once.)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 10:00:00.000000

"""

import secrets
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        "service_secrets",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_service_secrets")),
    )
    # wxapp.accounts.password_reset.MADE_UP_PHONE_KEY
    row = {"name": "reset-made-up-phone", "value": secrets.token_hex(32)}
    op.bulk_insert(table, [{**row, "created_at": datetime.now(timezone.utc)}])


def downgrade():
    op.drop_table("service_secrets")
