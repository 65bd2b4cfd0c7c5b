"""`seed-demo --once` on a restart reports the demo trainees as they are now."""

from __future__ import annotations

from models import Trainee, db
from tests.factories import make_binding
from wxapp.demo.seed import DEMO_PASSWORD, TRAINEES


def test_once_on_a_restart_reports_the_current_states(app, runner, client):
    first = runner.invoke(args=["seed-demo", "--once"])
    assert first.exit_code == 0, first.output
    learner, buyer, imported = TRAINEES
    client.post("/api/login", json={"username": learner.phone, "password": DEMO_PASSWORD})
    changed = client.post(
        "/api/me/password", json={"old_password": DEMO_PASSWORD, "new_password": "Changed123"}
    )
    assert changed.status_code == 200
    with app.app_context():
        trainee = db.session.execute(
            db.select(Trainee).where(Trainee.id_number == buyer.id_number)
        ).scalar_one()
        make_binding(trainee)
        db.session.commit()

    again = runner.invoke(args=["seed-demo", "--once"])
    assert again.exit_code == 0, again.output
    lines = {spec.name: next(x for x in again.stdout.splitlines() if spec.phone in x)
             for spec in TRAINEES}  # fmt: skip
    assert "演示数据已存在" in again.stdout
    assert "密码已修改" in lines[learner.name] and DEMO_PASSWORD not in lines[learner.name]
    assert "已购买：" in lines[learner.name]
    assert f"密码 {DEMO_PASSWORD}" in lines[buyer.name] and "已绑定微信" in lines[buyer.name]
    assert "尚未购买培训项目" in lines[buyer.name]
    assert "初始密码，尚未激活" in lines[imported.name]
    assert imported.login_password in lines[imported.name]
