"""certificates.revoked_at and revoked_reason: a refunded plan's certificate is revoked

A refund that takes the plan from the trainee (the enrollment becomes refunded) revokes the
certificate of that plan: the verification page says 该证书已撤销 with the date and reason,
and the trainee can no longer view or print it. Issuing it again after a new payment clears
both.

Certificates whose plan was refunded before this migration are revoked by it too, dated by
the trainee's last successful refund of that plan (now when none is recorded), each with a
new version saying so, as a refund now does.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 10:00:00.000000

"""

from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

REASON = "培训费已退款"

certificates = sa.table(
    "certificates",
    sa.column("id", sa.Integer),
    sa.column("trainee_id", sa.Integer),
    sa.column("plan_id", sa.Integer),
    sa.column("version", sa.Integer),
    sa.column("content", sa.JSON),
    sa.column("updated_at", sa.DateTime(timezone=True)),
    sa.column("revoked_at", sa.DateTime(timezone=True)),
    sa.column("revoked_reason", sa.String),
)
versions = sa.table(
    "certificate_versions",
    sa.column("certificate_id", sa.Integer),
    sa.column("version", sa.Integer),
    sa.column("content", sa.JSON),
    sa.column("reason", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
enrollments = sa.table(
    "enrollments",
    sa.column("trainee_id", sa.Integer),
    sa.column("plan_id", sa.Integer),
    sa.column("status", sa.String),
)
orders = sa.table("orders", sa.column("id", sa.Integer), sa.column("plan_id", sa.Integer))
refunds = sa.table(
    "refunds",
    sa.column("id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("succeeded_at", sa.DateTime(timezone=True)),
)
refund_items = sa.table(
    "refund_items",
    sa.column("refund_id", sa.Integer),
    sa.column("trainee_id", sa.Integer),
    sa.column("order_id", sa.Integer),
)


def upgrade():
    op.add_column(
        "certificates", sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "certificates", sa.Column("revoked_reason", sa.String(length=100), nullable=True)
    )
    conn = op.get_bind()
    refunded = (
        sa.select(enrollments.c.trainee_id)
        .where(
            enrollments.c.trainee_id == certificates.c.trainee_id,
            enrollments.c.plan_id == certificates.c.plan_id,
            enrollments.c.status == "refunded",
        )
        .exists()
    )
    last_refund = (
        sa.select(sa.func.max(refunds.c.succeeded_at))
        .join(refund_items, refund_items.c.refund_id == refunds.c.id)
        .join(orders, orders.c.id == refund_items.c.order_id)
        .where(
            refund_items.c.trainee_id == certificates.c.trainee_id,
            orders.c.plan_id == certificates.c.plan_id,
            refunds.c.status == "SUCCESS",
        )
        .scalar_subquery()
    )
    rows = conn.execute(
        sa.select(certificates.c.id, certificates.c.version, certificates.c.content, last_refund)
        .where(refunded)
        .order_by(certificates.c.id)
    ).all()
    now = datetime.now(UTC)
    for cert_id, version, content, refunded_at in rows:
        if isinstance(refunded_at, str):  # SQLite hands MAX() back as text
            refunded_at = datetime.fromisoformat(refunded_at)
        at = (refunded_at or now).replace(tzinfo=(refunded_at or now).tzinfo or UTC)
        conn.execute(
            certificates.update()
            .where(certificates.c.id == cert_id)
            .values(version=version + 1, updated_at=at, revoked_at=at, revoked_reason=REASON)
        )
        conn.execute(
            versions.insert().values(
                certificate_id=cert_id,
                version=version + 1,
                content=content,
                reason=f"撤销：{REASON}",
                created_at=at,
            )
        )


def downgrade():
    # The revocation versions stay in certificate_versions: they are history.
    op.drop_column("certificates", "revoked_reason")
    op.drop_column("certificates", "revoked_at")
