"""团体购买: a 5,000-line paste with 100 bad lines of every kind, the error file, the order,
and once paid, one enrollment per accepted trainee."""

from __future__ import annotations

import io
import random

import openpyxl
import sqlalchemy as sa

from models import Enrollment, Order, Outbox, Trainee, db
from tests import paysign
from tests.factories import make_id_number, make_order, make_plan, make_trainee
from wxapp.accounts.idnumbers import check_char
from wxapp.orders import group
from wxapp.orders.enrollments import grant_enrollment

BASE = 300_000  # ID-number serials of this test, clear of the factories' counter


def add_trainees(numbers: list[str], now) -> None:
    """Bulk-imported trainees (no password hash), in one statement."""
    rows = [
        {
            "name": "学员",
            "id_number": n,
            "must_change_password": True,
            "created_at": now,
            "updated_at": now,
        }
        for n in numbers
    ]
    db.session.execute(sa.insert(Trainee), rows)


def lowercase_x_numbers(count: int) -> list[str]:
    found, n = [], BASE + 50_000
    while len(found) < count:
        number = make_id_number(n)
        if number.endswith("X"):
            found.append(number[:-1] + "x")
        n += 1
    return found


def wrong_check_digit(number: str) -> str:
    right = check_char(number[:17])
    return number[:17] + ("0" if right != "0" else "1")


def build_paste(app, clock):
    """The paste and the expected rejects by kind; accounts set up in the database."""
    with app.app_context():
        payer = make_trainee(name="单位经办人")
        other_payer = make_trainee(name="另一经办人")
        plan = make_plan()
        good = [make_id_number(BASE + i) for i in range(4300)]
        bought = [make_id_number(BASE + 10_000 + i) for i in range(100)]
        pending = [make_id_number(BASE + 20_000 + i) for i in range(100)]
        missing = [make_id_number(BASE + 30_000 + i) for i in range(100)]
        add_trainees(good + bought + pending, clock.now())
        ids = dict(db.session.execute(sa.select(Trainee.id_number, Trainee.id)).all())
        for n in bought:
            grant_enrollment(ids[n], plan.id, clock.now())
        make_order(
            db.session.get(Trainee, other_payer.id),
            plan,
            clock.now(),
            trainees=[db.session.get(Trainee, ids[n]) for n in pending],
        )
        db.session.commit()
        payer_id, plan_id = payer.id, plan.id

    bad = {
        group.FORMAT: [n[:17] for n in good[:50]] + [n[:9] + " " + n[9:] for n in good[50:100]],
        group.CHECKSUM: [wrong_check_digit(make_id_number(BASE + 40_000 + i)) for i in range(100)],
        group.LOWER_X: lowercase_x_numbers(100),
        group.NO_ACCOUNT: missing,
        group.ALREADY_BOUGHT: bought,
        group.REPEATED: good[200:300],
        group.PENDING_GROUP: pending,
    }
    lines = [(n, None) for n in good] + [(n, reason) for reason, ns in bad.items() for n in ns]
    rng = random.Random(7)
    rng.shuffle(lines)
    # Repeats must come after their first occurrence to be the repeat.
    first = {n: i for i, (n, r) in enumerate(lines) if r is None}
    for i, (n, reason) in enumerate(lines):
        if reason == group.REPEATED and i < first[n]:
            j = first[n]
            lines[i], lines[j] = lines[j], lines[i]
            first[n] = i
    assert len(lines) == 5000
    # Excel paste: CRLF, spaces around some lines, blank lines in between (all tolerated).
    text, expected, line_no = [], {}, 0
    for i, (n, reason) in enumerate(lines):
        if i % 500 == 0:
            text.append("   ")
            line_no += 1
        line_no += 1
        text.append(f"  {n} " if i % 3 == 0 and " " not in n else n)
        if reason:
            expected[line_no] = (n, reason)
    return payer_id, plan_id, "\r\n".join(text) + "\r\n", expected


def test_five_thousand_lines_with_bad_lines_of_every_kind(app, client, clock):
    payer_id, plan_id, text, expected = build_paste(app, clock)
    with client.session_transaction() as s:
        s["tid"], s["must_change"] = payer_id, False

    res = client.post("/api/group-orders", json={"plan_id": plan_id, "id_numbers": text})
    assert res.status_code == 201, res.json
    data = res.json
    assert (data["accepted"], data["rejected"]) == (4300, 700)
    assert data["amount"] == 4300 * 9000 and data["unit_price"] == 9000
    assert {r["line"]: (r["id_number"], r["reason"]) for r in data["rejects"]} == expected
    assert sorted({r["reason"] for r in data["rejects"]}) == sorted(
        [
            "号码格式错误",
            "校验位错误",
            "小写x",
            "账号不存在",
            "已购买该项目",
            "本单重复",
            "有未支付的团购订单",
        ]
    )

    xlsx = client.get(data["errors_url"])
    assert xlsx.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.data), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("行号", "身份证号码", "错误原因")
    assert {r[0]: (r[1], r[2]) for r in rows[1:]} == expected

    order = data["order"]
    assert (order["kind"], order["quantity"], order["amount"]) == ("group", 4300, 4300 * 9000)

    # The same trainees cannot be put in a second group order while this one is unpaid.
    again = client.post("/api/group-orders", json={"plan_id": plan_id, "id_numbers": text})
    assert again.json["accepted"] == 0 and again.json["order"] is None
    assert sum(r["reason"] == "有未支付的团购订单" for r in again.json["rejects"]) == 4400

    tx = paysign.transaction(order["out_trade_no"], order["amount"], app)
    body, headers = paysign.notification(app, tx, clock.now())
    assert client.post("/pay/notify", data=body, headers=headers).status_code == 204
    with app.app_context():
        paid = db.session.execute(
            sa.select(sa.func.count())
            .select_from(Enrollment)
            .where(Enrollment.order_id.is_not(None))
        ).scalar_one()
        assert paid == 4300
        assert (
            db.session.execute(
                sa.select(Order.status).where(Order.out_trade_no == order["out_trade_no"])
            ).scalar_one()
            == "SUCCESS"
        )
        assert db.session.execute(sa.select(Outbox.trainee_id)).scalars().all() == [payer_id]


def test_another_payers_error_file_is_not_found(app, client, clock):
    with app.app_context():
        payer, other, plan = make_trainee(), make_trainee(), make_plan()
        db.session.commit()
        ids = (payer.id, other.id, plan.id)
    with client.session_transaction() as s:
        s["tid"], s["must_change"] = ids[0], False
    res = client.post("/api/group-orders", json={"plan_id": ids[2], "id_numbers": "123\n\n"})
    assert res.status_code == 200 and res.json["order"] is None
    assert res.json["rejects"] == [{"line": 1, "id_number": "123", "reason": "号码格式错误"}]
    with client.session_transaction() as s:
        s["tid"] = ids[1]
    assert client.get(res.json["errors_url"]).status_code == 404


def test_an_empty_paste_names_the_field(app, client, clock):
    with app.app_context():
        payer, plan = make_trainee(), make_plan()
        db.session.commit()
        ids = (payer.id, plan.id)
    with client.session_transaction() as s:
        s["tid"], s["must_change"] = ids[0], False
    res = client.post("/api/group-orders", json={"plan_id": ids[1], "id_numbers": " \n \n"})
    assert res.status_code == 422 and res.json["field"] == "id_numbers"
