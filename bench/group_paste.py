"""Server time of a 5,000-line group purchase paste and of paying it (4,300 enrollments).

Run by hand (not part of `make test`), against a test database:
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/wxapp_test REDIS_URL=redis://127.0.0.1:6379/15 \
        .venv/bin/pytest -p tests.conftest -s -q bench/group_paste.py
"""

import statistics
import time

from tests import paysign
from tests.integration.test_group_purchase import build_paste


def test_group_paste_and_payment_timing(app, client, clock):
    payer_id, plan_id, text, _ = build_paste(app, clock)
    with client.session_transaction() as s:
        s["tid"], s["must_change"] = payer_id, False
    paste_times = []
    for _ in range(3):
        started = time.perf_counter()
        res = client.post("/api/group-orders", json={"plan_id": plan_id, "id_numbers": text})
        paste_times.append(time.perf_counter() - started)
        order = res.json["order"]
        if order is not None:
            first = order
    tx = paysign.transaction(first["out_trade_no"], first["amount"], app)
    body, headers = paysign.notification(app, tx, clock.now())
    started = time.perf_counter()
    status = client.post("/pay/notify", data=body, headers=headers).status_code
    notify_time = time.perf_counter() - started
    print(
        f"\n5,000-line paste: median {statistics.median(paste_times) * 1000:.0f} ms "
        f"(runs: {', '.join(f'{t * 1000:.0f}' for t in paste_times)} ms)"
        f"\nnotification paying {first['quantity']} trainees: {notify_time * 1000:.0f} ms ({status})"
    )
