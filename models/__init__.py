"""Typed Flask-SQLAlchemy models, one module per area. Importing this package registers them all."""

from models.base import Base, JSONType, UTCDateTime, db, utcnow
from models.catalogue import Chapter, Course, PlanCourse, PlanKind, TrainingPlan
from models.certificate import Certificate, UnitAdmin
from models.notification import Outbox
from models.order import Invoice, Order, OrderItem, PaymentAnomaly
from models.progress import ChapterProgress, CourseCompletion, Enrollment
from models.trainee import Trainee, Unit
from models.wechat import WechatBinding

__all__ = [
    "Base",
    "Certificate",
    "Chapter",
    "ChapterProgress",
    "Course",
    "CourseCompletion",
    "Enrollment",
    "Invoice",
    "JSONType",
    "Order",
    "OrderItem",
    "Outbox",
    "PaymentAnomaly",
    "PlanCourse",
    "PlanKind",
    "Trainee",
    "TrainingPlan",
    "UTCDateTime",
    "Unit",
    "UnitAdmin",
    "WechatBinding",
    "db",
    "utcnow",
]
