"""Typed Flask-SQLAlchemy models, one module per area. Importing this package registers them all."""

from models.audit import GroupPasteAudit
from models.base import Base, JSONType, UTCDateTime, db, utcnow
from models.catalogue import Chapter, Course, PlanCourse, PlanKind, TrainingPlan
from models.certificate import Certificate, UnitAdmin
from models.identity import CertificateVersion, ProfileChange
from models.learning import LearningPlay
from models.notification import Outbox, OutboxStatus
from models.operator import Operator, OperatorAudit
from models.order import (
    Invoice,
    InvoiceStatus,
    Order,
    OrderItem,
    OrderKind,
    OrderStatus,
    PaymentAnomaly,
)
from models.progress import ChapterProgress, CourseCompletion, Enrollment, EnrollmentStatus
from models.refund import Refund, RefundItem, RefundStatus
from models.reminder import UnitReminder
from models.secret import ServiceSecret
from models.trainee import SessionEnd, Trainee, Unit
from models.wechat import WechatBinding

__all__ = [
    "Base",
    "Certificate",
    "CertificateVersion",
    "Chapter",
    "ChapterProgress",
    "Course",
    "CourseCompletion",
    "Enrollment",
    "EnrollmentStatus",
    "GroupPasteAudit",
    "Invoice",
    "InvoiceStatus",
    "JSONType",
    "LearningPlay",
    "Operator",
    "OperatorAudit",
    "Order",
    "OrderItem",
    "OrderKind",
    "OrderStatus",
    "Outbox",
    "OutboxStatus",
    "PaymentAnomaly",
    "PlanCourse",
    "PlanKind",
    "ProfileChange",
    "Refund",
    "RefundItem",
    "RefundStatus",
    "ServiceSecret",
    "SessionEnd",
    "Trainee",
    "TrainingPlan",
    "UTCDateTime",
    "Unit",
    "UnitAdmin",
    "UnitReminder",
    "WechatBinding",
    "db",
    "utcnow",
]
