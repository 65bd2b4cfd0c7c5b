"""Reports for units and districts (应训未训): who has not met the year's 学时, as JSON or xlsx."""

from wxapp.reports.access import (
    administered_unit,
    grant_unit_admin,
    report_for_admin,
    revoke_unit_admin,
)
from wxapp.reports.districts import district_summary
from wxapp.reports.unit import unit_report, verdict
from wxapp.reports.xlsx import write_district_summary, write_unit_report

__all__ = [
    "administered_unit",
    "district_summary",
    "grant_unit_admin",
    "report_for_admin",
    "revoke_unit_admin",
    "unit_report",
    "verdict",
    "write_district_summary",
    "write_unit_report",
]
