"""Certificate use cases: issue or re-issue (刷新证书), the trainee's list, one certificate,
and the public verification by code. The writing use case, `issue_certificate`, is one
`transaction()`.

A revoked certificate (wxapp/certificates/revocation.py: its plan was refunded) is never
served to the trainee (409 certificate_revoked) and is not listed in 我的证书; the
verification page says it is revoked, when and why. Issuing it again once the plan is paid
for again clears the revocation."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from models import (
    Certificate,
    CertificateVersion,
    Enrollment,
    EnrollmentStatus,
    ProfileChange,
    Trainee,
    TrainingPlan,
    db,
)
from wxapp import outbox
from wxapp.accounts.profile_history import actor_label
from wxapp.accounts.trainees import get_trainee
from wxapp.accounts.units import CHONGQING_DISTRICTS
from wxapp.catalogue.plans import get_plan
from wxapp.certificates import document, rules
from wxapp.certificates.revocation import add_version, ensure_not_revoked
from wxapp.errors import Conflict, NotFound
from wxapp.events import CertificateIssued
from wxapp.infra.clock import local_date
from wxapp.infra.transaction import transaction

VERIFY_CODE_BYTES = 24  # 192 bits: guessing a valid code is hopeless


# What secrets.token_urlsafe gives, with room for a longer code later.
CODE_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def verify_url(base_url: str, code: str) -> str:
    return f"{base_url}/verify/{code}"


def certificate_dict(cert: Certificate, base_url: str) -> dict[str, Any]:
    return {
        "id": cert.id,
        "serial": cert.serial,
        "plan_id": cert.plan_id,
        "year": cert.year,
        "kind": cert.kind,
        "kind_name": rules.KIND_NAMES[cert.kind],
        "hours": float(cert.hours),
        "issuer": cert.issuer,
        "issued_at": cert.issued_at.isoformat(),
        "issue_date": local_date(cert.issued_at),
        "version": cert.version,
        "updated_at": cert.updated_at.isoformat(),
        "updated_date": local_date(cert.updated_at),
        "content": cert.content,
        "verify_url": verify_url(base_url, cert.verify_code),
        "print_url": f"/certificates/{cert.id}",
        "pdf_url": f"/api/certificates/{cert.id}.pdf",
    }


def _content_for(trainee: Trainee, plan: TrainingPlan, hours: Decimal) -> dict[str, Any]:
    return rules.certificate_content(
        name=trainee.name,
        id_number=trainee.id_number,
        unit_name=trainee.unit.name if trainee.unit else None,
        archive_district=trainee.archive_district,
        plan_title=plan.title,
        year=plan.year,
        kind=plan.kind,
        hours=hours,
    )


def issue_certificate(
    trainee_id: int, plan_id: int, now: datetime, base_url: str
) -> tuple[dict[str, Any], bool]:
    """Issue the plan's certificate, or re-issue it with current info (刷新证书).

    Returns (certificate, created). A re-issue keeps the serial and the verification code
    and bumps the version only when what the certificate says has changed. Raises Conflict
    (409) when the plan is not complete or personal info is missing, naming what. One
    transaction: the lock, the certificate and its event commit together.
    """
    with transaction():
        return _issue_or_refresh(trainee_id, plan_id, now, base_url)


def _issue_or_refresh(
    trainee_id: int, plan_id: int, now: datetime, base_url: str
) -> tuple[dict[str, Any], bool]:
    """`issue_certificate` inside its transaction."""
    plan = get_plan(plan_id)
    # Locking the enrollment row serialises concurrent requests of the same trainee and
    # plan, so the first issue happens once (SQLite ignores it and serialises writes anyway).
    enrollment = db.session.execute(
        db.select(Enrollment)
        .where(
            Enrollment.trainee_id == trainee_id,
            Enrollment.plan_id == plan_id,
            Enrollment.status == EnrollmentStatus.PAID,
        )
        .with_for_update()
    ).scalar_one_or_none()
    if enrollment is None:
        raise Conflict("尚未购买该培训项目，不能申请证书", code="not_enrolled")
    trainee = get_trainee(trainee_id)
    verdict = rules.check_eligibility(
        hours_done=enrollment.hours_done,
        required_hours=plan.required_hours,
        completed_at=enrollment.completed_at,
        name=trainee.name,
        id_number=trainee.id_number,
        unit_name=trainee.unit.name if trainee.unit else None,
        archive_district=trainee.archive_district,
        districts=CHONGQING_DISTRICTS,
    )
    if not verdict.plan_complete:
        raise Conflict(
            f"培训项目尚未完成（已完成 {rules.hours_text(enrollment.hours_done)}/"
            f"{plan.required_hours} 学时），不能申请证书",
            code="plan_incomplete",
            hours_done=float(enrollment.hours_done),
            required_hours=plan.required_hours,
        )
    if verdict.missing:
        raise Conflict(
            verdict.missing_message(), code="profile_incomplete", missing=list(verdict.missing)
        )

    content = _content_for(trainee, plan, enrollment.hours_done)
    cert = db.session.execute(
        db.select(Certificate).where(
            Certificate.trainee_id == trainee_id, Certificate.plan_id == plan_id
        )
    ).scalar_one_or_none()
    created = cert is None
    if cert is None:
        code = secrets.token_urlsafe(VERIFY_CODE_BYTES)
        cert = Certificate(
            # The serial needs the row id; the unique code stands in until the flush.
            serial=code[:32],
            verify_code=code,
            trainee_id=trainee_id,
            plan_id=plan_id,
            year=plan.year,
            kind=plan.kind,
            hours=enrollment.hours_done,
            issuer=rules.ISSUER,
            issued_at=now,
            updated_at=now,
            version=1,
            content=content,
        )
        db.session.add(cert)
        db.session.flush()
        cert.serial = rules.serial_number(plan.year, plan.kind, cert.id)
        add_version(cert, rules.FIRST_ISSUE_REASON, now)
        outbox.add_event(
            CertificateIssued(
                certificate_id=cert.id,
                serial=cert.serial,
                plan_id=plan.id,
                plan_title=plan.title,
                year=plan.year,
                kind=plan.kind,
                hours=enrollment.hours_done,
            ),
            trainee_id,
            now,
        )
    elif cert.revoked_at is not None or cert.content != content:
        # Revoked (the plan was refunded, and is paid for again now): issued again, as a
        # new version, whether or not what it says changed meanwhile.
        reason = _refresh_reason(cert, content) if cert.content != content else ""
        if cert.revoked_at is not None:
            reason = rules.reissue_reason(reason)
        cert.version += 1
        cert.content = content
        cert.hours = enrollment.hours_done
        cert.updated_at = now
        cert.revoked_at = cert.revoked_reason = None
        add_version(cert, reason, now)
    return certificate_dict(cert, base_url), created


def _refresh_reason(cert: Certificate, content: dict[str, Any]) -> str:
    """Why 刷新证书 makes a new version: what changed on the certificate and, for a name or
    ID number, who corrected it (the corrections since the current version, or since the
    one before a revocation, which changed nothing on it)."""
    current = cert.version - 1 if cert.revoked_at is not None else cert.version
    since = db.session.execute(
        sa.select(CertificateVersion.created_at).where(
            CertificateVersion.certificate_id == cert.id,
            CertificateVersion.version == current,
        )
    ).scalar_one_or_none()
    corrections = db.session.execute(
        sa.select(ProfileChange.field, ProfileChange.actor)
        .where(
            ProfileChange.trainee_id == cert.trainee_id,
            ProfileChange.field.in_(("name", "id_number")),
            ProfileChange.changed_at >= (since or cert.updated_at),
        )
        .order_by(ProfileChange.changed_at, ProfileChange.id)
    ).all()
    notes: dict[str, list[str]] = {}
    for field, actor in corrections:
        notes.setdefault(field, []).append(actor_label(actor))
    return rules.version_reason(rules.content_changes(cert.content, content), notes)


def version_history(certificate_id: int) -> list[dict[str, Any]]:
    """Every version of a certificate, newest first: number, date and why it was made."""
    rows = db.session.execute(
        sa.select(CertificateVersion)
        .where(CertificateVersion.certificate_id == certificate_id)
        .order_by(CertificateVersion.version.desc())
    ).scalars()
    return [
        {
            "version": row.version,
            "created_at": row.created_at.isoformat(),
            "date": local_date(row.created_at),
            "reason": row.reason,
        }
        for row in rows
    ]


def list_certificates(trainee_id: int, base_url: str) -> list[dict[str, Any]]:
    """我的证书: every paid plan of the trainee, whether complete, and its certificate if any
    (a revoked one is left out: paid for again, the plan offers to issue it again)."""
    rows = db.session.execute(
        db.select(Enrollment, TrainingPlan, Certificate)
        .join(TrainingPlan, TrainingPlan.id == Enrollment.plan_id)
        .outerjoin(
            Certificate,
            sa.and_(
                Certificate.trainee_id == Enrollment.trainee_id,
                Certificate.plan_id == Enrollment.plan_id,
            ),
        )
        .where(Enrollment.trainee_id == trainee_id, Enrollment.status == EnrollmentStatus.PAID)
        .order_by(TrainingPlan.year.desc(), TrainingPlan.kind, TrainingPlan.id)
    ).all()
    return [
        {
            "plan": {
                "id": plan.id,
                "title": plan.title,
                "year": plan.year,
                "kind": plan.kind,
                "kind_name": rules.KIND_NAMES[plan.kind],
                "required_hours": plan.required_hours,
            },
            "hours_done": float(enrollment.hours_done),
            "complete": rules.plan_complete(
                enrollment.hours_done, plan.required_hours, enrollment.completed_at
            ),
            "certificate": certificate_dict(cert, base_url)
            if cert and cert.revoked_at is None
            else None,
        }
        for enrollment, plan, cert in rows
    ]


def own_certificate(trainee_id: int, certificate_id: int) -> Certificate:
    """The trainee's own certificate; anyone else's is reported as not existing, a revoked one
    is refused (409 certificate_revoked)."""
    cert = db.session.get(Certificate, certificate_id)
    if cert is None or cert.trainee_id != trainee_id:
        raise NotFound("证书不存在", code="certificate_not_found")
    return ensure_not_revoked(cert)


def get_certificate(trainee_id: int, certificate_id: int, base_url: str) -> dict[str, Any]:
    return certificate_dict(own_certificate(trainee_id, certificate_id), base_url)


def verify(code: str, base_url: str) -> dict[str, Any] | None:
    """The current version of the certificate behind a verification code, with its version
    history (`versions`, newest first) and, when it is revoked, when and why (`revoked`,
    else None); None for an unknown code."""
    if not CODE_SHAPE.fullmatch(code or ""):
        return None  # not one we issue (a NUL would even fail the query): not found
    cert = db.session.execute(
        db.select(Certificate).where(Certificate.verify_code == code)
    ).scalar_one_or_none()
    if cert is None:
        return None
    revoked = None
    if cert.revoked_at is not None:
        revoked = {
            "at": cert.revoked_at.isoformat(),
            "date": local_date(cert.revoked_at),
            "reason": cert.revoked_reason or rules.REFUND_REVOCATION,
        }
    return {
        **certificate_dict(cert, base_url),
        "versions": version_history(cert.id),
        "revoked": revoked,
    }


def certificate_document(trainee_id: int, certificate_id: int, base_url: str) -> tuple[str, bytes]:
    """(file name, PDF bytes) of the trainee's own certificate at its current version."""
    cert = get_certificate(trainee_id, certificate_id, base_url)
    return f"{cert['serial']}.pdf", document.certificate_pdf(cert)


def print_view(trainee_id: int, certificate_id: int, base_url: str) -> dict[str, Any]:
    """What the printable page shows: the certificate, its labelled lines, what it attests,
    the QR code SVG."""
    cert = get_certificate(trainee_id, certificate_id, base_url)
    return {
        "cert": cert,
        "lines": document.body_lines(cert),
        "statement": rules.STATEMENT,
        "qr_svg": document.qr_svg(cert["verify_url"]),
    }


def verify_view(code: str, base_url: str) -> dict[str, Any]:
    """What the public verification page shows; `cert` is None for an unknown code, and
    `cert["revoked"]` says when and why a revoked one was revoked."""
    cert = verify(code, base_url)
    return {"cert": cert, "lines": document.body_lines(cert) if cert else []}
