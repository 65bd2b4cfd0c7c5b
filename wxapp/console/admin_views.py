"""管理员's views: the catalogue, units and 区县, unit administrators, the roster import and
the unit report, operators, the notification outbox and the audit log. Every change writes
its audit row in its transaction. The views live in admin_catalogue, admin_catalogue_load,
admin_units, admin_roster, admin_unit_report, admin_operators and admin_system."""

from __future__ import annotations

from flask_admin import Admin

from models import Chapter, Course, Operator, OperatorAudit, Outbox, TrainingPlan, Unit, UnitAdmin
from wxapp.console.admin_catalogue import ChapterView, CourseView, PlanView
from wxapp.console.admin_catalogue_load import CatalogueLoadView
from wxapp.console.admin_operators import OperatorView
from wxapp.console.admin_roster import RosterImportView
from wxapp.console.admin_system import AuditLogView, OutboxView
from wxapp.console.admin_unit_report import UnitReportView
from wxapp.console.admin_units import DistrictView, UnitAdminView, UnitView

CATALOGUE = "课程目录"
PEOPLE = "单位与人员"
SYSTEM = "系统"


def register(admin: Admin) -> None:
    admin.add_view(PlanView(TrainingPlan, name="培训项目", category=CATALOGUE, endpoint="plans"))
    admin.add_view(CourseView(Course, name="课程", category=CATALOGUE, endpoint="courses"))
    admin.add_view(ChapterView(Chapter, name="章节", category=CATALOGUE, endpoint="chapters"))
    admin.add_view(
        CatalogueLoadView(name="导入课程目录", category=CATALOGUE, endpoint="catalogue_load")
    )
    admin.add_view(UnitView(Unit, name="单位", category=PEOPLE, endpoint="units"))
    admin.add_view(DistrictView(name="区县", category=PEOPLE, endpoint="districts"))
    admin.add_view(
        UnitAdminView(UnitAdmin, name="单位管理员", category=PEOPLE, endpoint="unit_admins")
    )
    admin.add_view(RosterImportView(name="导入单位名单", category=PEOPLE, endpoint="roster_import"))
    admin.add_view(UnitReportView(name="单位报表", category=PEOPLE, endpoint="unit_report"))
    admin.add_view(OperatorView(Operator, name="操作员", category=PEOPLE, endpoint="operators"))
    admin.add_view(OutboxView(Outbox, name="消息推送", category=SYSTEM, endpoint="outbox"))
    admin.add_view(
        AuditLogView(OperatorAudit, name="操作日志", category=SYSTEM, endpoint="audit_log")
    )
