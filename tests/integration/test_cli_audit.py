"""What a command changes of who may see what is in the operators' audit log, as the console's
same action is: a unit administrator granted or revoked, a roster imported. The row names the
shell account that ran it; a refused command leaves none."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from models import OperatorAudit, db
from tests.factories import make_trainee, make_unit, roster_person
from tests.integration.test_catalogue_load import example, write
from wxapp.accounts.roster_template import write_roster


def audit_rows(app) -> list[OperatorAudit]:
    with app.app_context():
        rows = db.session.execute(sa.select(OperatorAudit).order_by(OperatorAudit.id)).scalars()
        found = list(rows)
        db.session.expunge_all()
        return found


def test_granting_and_revoking_a_unit_administrator_is_logged(app, runner):
    with app.app_context():
        hospital = make_unit(name="垫江县人民医院", district="垫江县")
        clerk, outsider = make_trainee(name="人事干事", unit=hospital), make_trainee(name="旁人")
        db.session.commit()
        unit_id, clerk_id, phone, other = hospital.id, clerk.id, clerk.phone, outsider.phone

    refused = runner.invoke(args=["unit-admin", "grant", other, "--unit", str(unit_id)])
    assert refused.exit_code != 0 and audit_rows(app) == []

    granted = runner.invoke(args=["unit-admin", "grant", phone, "--unit", str(unit_id)])
    assert granted.exit_code == 0, granted.output
    revoked = runner.invoke(args=["unit-admin", "revoke", phone])
    assert revoked.exit_code == 0 and "已撤销" in revoked.output
    again = runner.invoke(args=["unit-admin", "revoke", phone])
    assert "该账号不是单位管理员" in again.output

    rows = audit_rows(app)
    assert [(r.action, r.target_type, r.target_id, r.operator_id) for r in rows] == [
        ("unit_admins.create", "unit_admins", str(clerk_id), None),
        ("unit_admins.delete", "unit_admins", str(clerk_id), None),
    ]
    assert rows[0].after == {"trainee_id": clerk_id, "unit_id": unit_id}
    assert rows[1].before == {"trainee_id": clerk_id, "unit_id": unit_id}
    assert all(r.reason.startswith("命令行（") and "@" in r.reason for r in rows)


def test_a_roster_imported_by_command_is_logged_with_its_file(app, runner, tmp_path):
    path = tmp_path / "roster.xlsx"
    write_roster(path, "垫江县", "垫江县人民医院", [roster_person(n) for n in range(1, 4)])
    result = runner.invoke(args=["trainees", "import", str(path)])
    assert result.exit_code == 0, result.output

    (row,) = audit_rows(app)
    assert (row.action, row.target_type, row.operator_id) == ("trainees.import", "units", None)
    assert row.after["file"] == "roster.xlsx" and row.after["created"] == 3
    assert row.after["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert row.reason.startswith("命令行（")


def test_a_catalogue_loaded_and_a_name_corrected_by_command_are_logged(app, runner, tmp_path):
    path = write(tmp_path, example())
    with app.app_context():
        typo = make_trainee(name="李四")
        db.session.commit()
        tid, phone = typo.id, typo.phone

    loaded = runner.invoke(args=["catalogue", "load", str(path)])
    assert loaded.exit_code == 0, loaded.output
    refused = runner.invoke(
        args=["trainees", "correct", "--account", phone, "--name", "李思", "--reason", " "]
    )
    assert refused.exit_code != 0
    corrected = runner.invoke(
        args=["trainees", "correct", "--account", phone, "--name", "李思", "--reason", "户籍更正"]
    )
    assert corrected.exit_code == 0, corrected.output

    load, fix = audit_rows(app)
    assert (load.action, load.target_id) == ("catalogue.load", "catalogue.json")
    assert load.after["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (fix.action, fix.target_id, fix.after["name"]) == (
        "trainee.correct_identity",
        str(tid),
        "李思",
    )
    assert fix.after["changes"] == ["name"]
    assert fix.reason.startswith("户籍更正；命令行（")
