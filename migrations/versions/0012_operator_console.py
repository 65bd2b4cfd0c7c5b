"""operator console: operators (password, TOTP, lockout) and their append-only audit log

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 08:00:00.000000

"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    op.create_table(
        "operators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(length=40), nullable=False),
        sa.Column("display_name", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("totp_secret", sa.String(length=255), nullable=False),
        sa.Column("totp_enrolled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "role in ('support', 'finance', 'admin')", name=op.f("ck_operators_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operators")),
        sa.UniqueConstraint("login", name=op.f("uq_operators_login")),
    )
    op.create_table(
        "operator_audits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("target_type", sa.String(length=40), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column("before", json, nullable=True),
        sa.Column("after", json, nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name=op.f("fk_operator_audits_operator_id_operators"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_audits")),
    )
    op.create_index(op.f("ix_operator_audits_operator_id"), "operator_audits", ["operator_id"])
    op.create_index(op.f("ix_operator_audits_action"), "operator_audits", ["action"])
    op.create_index(op.f("ix_operator_audits_at"), "operator_audits", ["at"])
    op.create_index("ix_operator_audits_target", "operator_audits", ["target_type", "target_id"])

    # --- 财务 (finance views): an invoice request may be refused, with the reason shown ---
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refusal_reason", sa.String(length=200), nullable=True))
        batch_op.drop_constraint(op.f("ck_invoices_status"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_invoices_status"), "status in ('requested', 'issued', 'refused')"
        )


def downgrade():
    # --- 财务 (finance views) ---
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_invoices_status"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_invoices_status"), "status in ('requested', 'issued')"
        )
        batch_op.drop_column("refusal_reason")
    op.drop_table("operator_audits")
    op.drop_table("operators")
