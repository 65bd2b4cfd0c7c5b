"""certificate_versions.reason without the reasons typed with corrections

The public verification page shows each version's reason to anyone holding the QR code.
Up to now a name or ID-number correction's reason was copied into it verbatim
("姓名：张三 → 张叁（经所在单位更正，理由：…）"), and that free text has held phone numbers and
private remarks. New versions name who corrected only; this removes the "，理由：…" parts
from the versions already made (the reasons stay in profile_changes, the trainee's 信息变更记录).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29 10:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

MARK = "，理由："
versions = sa.table(
    "certificate_versions",
    sa.column("id", sa.Integer),
    sa.column("certificate_id", sa.Integer),
    sa.column("reason", sa.String),
)
certificates = sa.table(
    "certificates", sa.column("id", sa.Integer), sa.column("trainee_id", sa.Integer)
)
changes = sa.table(
    "profile_changes",
    sa.column("trainee_id", sa.Integer),
    sa.column("reason", sa.String),
)


def without_reasons(text: str, typed: list[str]) -> str:
    """`text` with each "，理由：<reason>" of the trainee's corrections taken out. A reason no
    correction matches was cut short by the 500-character limit, so it is the text's last
    part: everything from its mark on goes (a typed "）" must not end it early)."""
    for why in sorted(set(typed), key=len, reverse=True):
        text = text.replace(MARK + why, "")
    return text.split(MARK, 1)[0]


def upgrade():
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(versions.c.id, versions.c.reason, certificates.c.trainee_id)
        .join(certificates, certificates.c.id == versions.c.certificate_id)
        .where(versions.c.reason.contains(MARK))
    ).all()
    for version_id, reason, trainee_id in rows:
        typed = conn.execute(
            sa.select(changes.c.reason).where(
                changes.c.trainee_id == trainee_id, changes.c.reason.is_not(None)
            )
        ).scalars()
        conn.execute(
            versions.update()
            .where(versions.c.id == version_id)
            .values(reason=without_reasons(reason, list(typed)))
        )


def downgrade():
    pass  # the removed reasons are still in profile_changes; nothing to put back
