"""Revoking certificates (撤销): a refund that takes a plan from the trainee revokes the
certificate of that plan, in the refund's transaction (`revoke_for_refund`, called by
wxapp/orders/refund_rule.py). Also what every certificate version is written with, the
refusal a revoked certificate meets, and which members of an order hold a valid one (the
console warns before refunding them).

A revocation is a version of its own ("撤销：培训费已退款") with the content unchanged;
issuing the certificate again after a new payment (wxapp/certificates/issuing.py) clears it
and makes the next version. Neither changes the serial or the verification code."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from models import Certificate, CertificateVersion, db
from wxapp.certificates import rules
from wxapp.errors import Conflict
from wxapp.infra.clock import local_date


def add_version(cert: Certificate, reason: str, now: datetime) -> None:
    """Keep what the certificate says at its current version, and why that version exists."""
    db.session.add(
        CertificateVersion(
            certificate_id=cert.id,
            version=cert.version,
            content=cert.content,
            reason=reason[:500],
            created_at=now,
        )
    )


def revoke_for_refund(trainee_ids: list[int], plan_id: int, now: datetime) -> list[int]:
    """Revoke these trainees' certificates of the plan (their enrollment just became
    refunded); ones already revoked stay as they were. Adds, never commits. Returns the ids
    of the certificates revoked."""
    if not trainee_ids:
        return []
    certs = db.session.execute(
        sa.select(Certificate)
        .where(
            Certificate.trainee_id.in_(trainee_ids),
            Certificate.plan_id == plan_id,
            Certificate.revoked_at.is_(None),
        )
        .order_by(Certificate.id)
        .with_for_update()
    ).scalars()
    revoked = []
    for cert in certs:
        cert.revoked_at = now
        cert.revoked_reason = rules.REFUND_REVOCATION
        cert.version += 1
        cert.updated_at = now
        add_version(cert, rules.revocation_version_reason(rules.REFUND_REVOCATION), now)
        revoked.append(cert.id)
    return revoked


def ensure_not_revoked(cert: Certificate) -> Certificate:
    """The certificate, unless it is revoked: then 409 certificate_revoked, saying why."""
    if cert.revoked_at is not None:
        raise Conflict(
            rules.revoked_message(cert.revoked_reason),
            code="certificate_revoked",
            revoked_date=local_date(cert.revoked_at),
            revoked_reason=cert.revoked_reason,
        )
    return cert


def valid_holders(plan_id: int, trainee_ids: list[int]) -> dict[int, str]:
    """trainee id -> serial, for each of these trainees holding a certificate of the plan
    that is not revoked."""
    if not trainee_ids:
        return {}
    rows = db.session.execute(
        sa.select(Certificate.trainee_id, Certificate.serial).where(
            Certificate.plan_id == plan_id,
            Certificate.trainee_id.in_(trainee_ids),
            Certificate.revoked_at.is_(None),
        )
    ).all()
    return dict(rows)
