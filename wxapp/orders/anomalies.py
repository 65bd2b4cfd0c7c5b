"""Payment anomalies: authentic WeChat Pay reports (payments, refunds) that were refused or
need an operator's eye, kept once per source and reason. Adds to the caller's transaction."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from models import PaymentAnomaly, db
from wxapp.infra.dbutil import insert_ignore

log = logging.getLogger(__name__)


def record_anomaly(
    source_id: str, reason: str, tx: dict[str, Any], now: datetime, extra: dict | None = None
) -> None:
    """Keep a refused transaction for an operator (once per source and reason); adds, no commit."""
    log.error(
        "PAYMENT ANOMALY (%s): out_trade_no=%s transaction_id=%s amount=%s mchid=%s appid=%s",
        reason,
        tx.get("out_trade_no"),
        tx.get("transaction_id"),
        tx.get("amount"),
        tx.get("mchid"),
        tx.get("appid"),
    )
    db.session.execute(
        insert_ignore(
            PaymentAnomaly.__table__,
            {
                "source_id": source_id[:80],
                "reason": reason,
                "out_trade_no": str(tx.get("out_trade_no") or "")[:64] or None,
                "transaction_id": str(tx.get("transaction_id") or "")[:64] or None,
                "detail": {"transaction": tx, **(extra or {})},
                "created_at": now,
            },
            ["source_id", "reason"],
        )
    )
