"""团体购买: a 5,000-line paste with 100 bad lines of every kind, the error file, the order,
and once paid, one enrollment per accepted trainee."""

from __future__ import annotations

import io
import random

import openpyxl
import sqlalchemy as sa

from models import Enrollment, GroupPasteAudit, Order, Outbox, Trainee, db
from tests import paysign
from tests.factories import make_id_number, make_order, make_plan, make_trainee
from wxapp.accounts.idnumbers import check_char
from wxapp.orders import group, group_paste
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
        plan = make_plan()
        good = [make_id_number(BASE + i) for i in range(4300)]
        bought = [make_id_number(BASE + 10_000 + i) for i in range(100)]
        pending = [make_id_number(BASE + 20_000 + i) for i in range(100)]
        missing = [make_id_number(BASE + 30_000 + i) for i in range(100)]
        add_trainees(good + bought + pending, clock.now())
        ids = dict(db.session.execute(sa.select(Trainee.id_number, Trainee.id)).all())
        for n in bought:
            grant_enrollment(ids[n], plan.id, clock.now())
        # The payer's own unpaid group order (only the payer's own ones block: see below).
        make_order(
            db.session.get(Trainee, payer.id),
            plan,
            clock.now(),
            trainees=[db.session.get(Trainee, ids[n]) for n in pending],
        )
        db.session.commit()
        payer_id, plan_id = payer.id, plan.id

    short = "身份证号码格式错误：应为 18 位，最后一位可为大写 X"
    spaces = "身份证号码格式错误：前后及中间不能有空格"
    bad = {
        short: [n[:17] for n in good[:50]],
        spaces: [n[:9] + " " + n[9:] for n in good[50:100]]
        + [f"  {n} " for n in good[100:150]],  # the notice: 前后不要有空格
        "身份证号码校验位错误": [
            wrong_check_digit(make_id_number(BASE + 40_000 + i)) for i in range(100)
        ],
        "身份证号码中的字母 X 请使用大写": lowercase_x_numbers(100),
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
    assert len(lines) == 5050
    # Excel paste: CRLF and blank (or blank-looking) lines in between, which are skipped.
    text, expected, line_no, line_of = [], {}, 0, {}
    for i, (n, reason) in enumerate(lines):
        if i % 500 == 0:
            text.append("   ")
            line_no += 1
        line_no += 1
        text.append(n)
        if reason is None:
            line_of[n] = line_no
        else:
            shown = n.strip()[:20]
            expected[line_no] = (
                shown,
                reason.format(line=line_of[n]) if reason == group.REPEATED else reason,
            )
    return payer_id, plan_id, "\r\n".join(text) + "\r\n", expected


def test_five_thousand_lines_with_bad_lines_of_every_kind(app, client, clock):
    payer_id, plan_id, text, expected = build_paste(app, clock)
    with client.session_transaction() as s:
        s["tid"], s["must_change"] = payer_id, False

    res = client.post("/api/group-orders", json={"plan_id": plan_id, "id_numbers": text})
    assert res.status_code == 201, res.json
    data = res.json
    assert (data["accepted"], data["rejected"]) == (4300, 750)
    assert data["amount"] == 4300 * 9000 and data["unit_price"] == 9000
    assert {r["line"]: (r["id_number"], r["reason"]) for r in data["rejects"]} == expected
    reasons = {r["reason"] for r in data["rejects"]}
    assert {r for r in reasons if not r.startswith("身份证号码与第 ")} == {
        "身份证号码格式错误：应为 18 位，最后一位可为大写 X",
        "身份证号码格式错误：前后及中间不能有空格",
        "身份证号码校验位错误",
        "身份证号码中的字母 X 请使用大写",
        "该身份证号码尚未注册学员账号，请先为其注册后再购买",
        "该学员已购买本培训项目，无需重复购买",
        "该学员已在您另一笔未支付的团购订单中，请在“团购订单”中支付或取消该订单后再提交",
    }
    assert sum(r.startswith("身份证号码与第 ") and r.endswith(" 行重复") for r in reasons) == 100

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
    assert sum(r["reason"] == group.PENDING_GROUP for r in again.json["rejects"]) == 4400

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
    assert res.json["rejects"] == [
        {
            "line": 1,
            "id_number": "123",
            "reason": "身份证号码格式错误：应为 18 位，最后一位可为大写 X",
        }
    ]
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


def test_junk_pastes_store_little_for_a_day_and_only_the_newest_three(app, client, clock):
    """A paste of junk at the size limit (400,000 characters, 1.2 MB of UTF-8) used to be
    stored whole for 7 days per request."""
    with app.app_context():
        payer, plan = make_trainee(), make_plan()
        db.session.commit()
        ids = (payer.id, plan.id)
    with client.session_transaction() as s:
        s["tid"], s["must_change"] = ids[0], False
    r = app.extensions["redis"]
    junk = "\n".join("垃圾" * 55 + f"{i:05d}" for i in range(3_400))
    assert 390_000 < len(junk) <= 400_000 and len(junk.encode()) > 1_100_000
    urls = []
    for _ in range(5):
        res = client.post("/api/group-orders", json={"plan_id": ids[1], "id_numbers": junk})
        assert res.status_code == 200 and res.json["rejected"] == 3_400
        assert {len(rej["id_number"]) for rej in res.json["rejects"]} == {20}
        urls.append(res.json["errors_url"])
    stored = sum(r.memory_usage(key) or 0 for key in r.keys(f"{{t:{ids[0]}}}:group-rejects*"))
    assert stored < 3 * 400_000, stored  # three files of cut lines, not 5 x 1.2 MB
    assert r.ttl(f"{{t:{ids[0]}}}:group-rejects") <= 24 * 3600
    # Only the newest three files are kept.
    assert [client.get(url).status_code for url in urls] == [404, 404, 200, 200, 200]
    sheet = openpyxl.load_workbook(io.BytesIO(client.get(urls[-1]).data), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1] == (1, "垃圾" * 10, "身份证号码格式错误：应为 18 位，最后一位可为大写 X")
    clock.advance(seconds=24 * 3600 + 1)
    assert client.get(urls[-1]).status_code == 404


def as_payer(client, payer_id: int) -> None:
    with client.session_transaction() as s:
        s["tid"], s["must_change"] = payer_id, False


def paste(client, plan_id: int, numbers: list[str], ip: str = "127.0.0.1"):
    return client.post(
        "/api/group-orders",
        json={"plan_id": plan_id, "id_numbers": "\n".join(numbers)},
        environ_overrides={"REMOTE_ADDR": ip},
    )


def test_distinct_id_numbers_checked_per_payer_per_day_are_capped(app, client, clock):
    """The oracle: 10,000 numbers a paste, as often as the rate limit allowed (100,000 a
    minute). Now at most group_paste.DAILY_DISTINCT_IDS distinct numbers a payer a local day; the
    same numbers pasted again cost nothing."""
    assert group_paste.DAILY_DISTINCT_IDS == 20_000
    with app.app_context():
        payer, other, plan = make_trainee(), make_trainee(), make_plan()
        db.session.commit()
        payer_id, other_id, plan_id = payer.id, other.id, plan.id
    first = [make_id_number(BASE + 100_000 + i) for i in range(10_000)]
    second = [make_id_number(BASE + 110_000 + i) for i in range(8_000)]
    third = [make_id_number(BASE + 120_000 + i) for i in range(5_000)]
    as_payer(client, payer_id)

    res = paste(client, plan_id, first)
    assert res.status_code == 200 and res.json["rejected"] == 10_000
    assert {r["reason"] for r in res.json["rejects"]} == {group.NO_ACCOUNT}
    assert paste(client, plan_id, first).status_code == 200  # the same list again: free
    assert paste(client, plan_id, second).status_code == 200  # ~18,000 distinct today

    refused = paste(client, plan_id, third)  # would be ~23,000
    assert refused.status_code == 429
    assert refused.json["error"] == "group_daily_cap" and refused.json["cap"] == 20_000
    assert "每个账号每天最多 20000 个不同号码" in refused.json["message"]
    assert "rejects" not in refused.json  # nothing about any number was revealed
    # 2025-06-16 02:00 UTC is 10:00 in Shanghai: the cap lifts at local midnight, 14 h on.
    assert refused.json["retry_after"] == 14 * 3600
    # Numbers already counted today can still be checked; the cap is the payer's, not the plan's.
    assert paste(client, plan_id, first[:10]).status_code == 200
    as_payer(client, other_id)
    assert paste(client, plan_id, third).status_code == 200

    as_payer(client, payer_id)
    clock.advance(seconds=14 * 3600)  # the next day in Shanghai
    assert paste(client, plan_id, third).status_code == 200

    with app.app_context():
        rows = db.session.execute(
            sa.select(GroupPasteAudit.outcome, GroupPasteAudit.checked)
            .where(GroupPasteAudit.payer_id == payer_id)
            .order_by(GroupPasteAudit.id)
        ).all()
    assert rows == [
        ("checked", 10_000),
        ("checked", 10_000),
        ("checked", 8_000),
        ("capped", 5_000),
        ("checked", 10),
        ("checked", 5_000),
    ]


def test_every_paste_is_audited_for_the_operator(app, client, clock):
    with app.app_context():
        payer, plan = make_trainee(), make_plan()
        members = [make_trainee() for _ in range(2)]
        db.session.commit()
        payer_id, plan_id = payer.id, plan.id
        numbers = [t.id_number for t in members]
    as_payer(client, payer_id)
    text = [numbers[0], "", "12345", numbers[1], numbers[0], make_id_number(BASE + 90_000)]
    res = paste(client, plan_id, text, ip="203.0.113.7")
    assert res.status_code == 201 and (res.json["accepted"], res.json["rejected"]) == (2, 3)
    with app.app_context():
        audit = db.session.execute(sa.select(GroupPasteAudit)).scalar_one()
        assert (
            audit.payer_id,
            audit.plan_id,
            audit.lines,
            audit.checked,
            audit.accepted,
            audit.rejected,
            audit.outcome,
            audit.out_trade_no,
            audit.client_ip,
            audit.created_at,
        ) == (
            payer_id,
            plan_id,
            5,  # the blank line is not counted
            3,  # two members and the number without an account; not the bad or repeated lines
            2,
            3,
            "checked",
            res.json["order"]["out_trade_no"],
            "203.0.113.7",
            clock.now(),
        )


def test_a_strangers_unpaid_order_does_not_block_the_units_own_paste(app, client, clock):
    """A stranger put a unit's trainees in an unpaid group order (renewable every two
    hours): the unit's own paste used to fail with 有未支付的团购订单. Only the payer's own
    unpaid order blocks now; were both paid, the second payment's member is refunded."""
    with app.app_context():
        unit_payer, stranger, plan = make_trainee(), make_trainee(), make_plan()
        staff = [make_trainee() for _ in range(3)]
        db.session.commit()
        ids = (unit_payer.id, stranger.id, plan.id)
        numbers = [t.id_number for t in staff]
    as_payer(client, ids[1])
    hostage = paste(client, ids[2], numbers[:2])
    assert hostage.status_code == 201 and hostage.json["accepted"] == 2

    as_payer(client, ids[0])
    own = paste(client, ids[2], numbers)
    assert own.status_code == 201, own.json
    assert (own.json["accepted"], own.json["rejects"]) == (3, [])
    # The unit's second paste of the same people is refused: its own order is unpaid.
    again = paste(client, ids[2], numbers)
    assert again.json["accepted"] == 0
    assert {r["reason"] for r in again.json["rejects"]} == {group.PENDING_GROUP}
    # And the stranger learns nothing about the unit's order from its own paste.
    as_payer(client, ids[1])
    probe = paste(client, ids[2], numbers[2:])
    assert probe.status_code == 201 and probe.json["rejects"] == []
