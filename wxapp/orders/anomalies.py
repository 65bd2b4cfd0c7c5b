"""Payment anomalies: authentic WeChat Pay reports (payments, refunds) that were refused or
need an operator's eye, kept once per source and reason. Adds to the caller's transaction."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from models import PaymentAnomaly, db
from wxapp.infra.dbutil import insert_ignore

log = logging.getLogger(__name__)

# What each reason means, as 财务 reads it in the console (the code stays in the row).
REASON_TEXT = {
    "unknown_order": "通知中的订单号在本系统不存在",
    "mchid_mismatch": "商户号与本系统不符",
    "appid_mismatch": "AppID 与本系统不符",
    "amount_mismatch": "支付金额与订单金额不符",
    "currency_mismatch": "币种不是人民币",
    "missing_transaction_id": "缺少微信支付单号",
    "member_already_enrolled": "学员已购买该项目（重复支付，已自动退款）",
    "paid_after_close": "订单关闭后仍收到付款（已按支付处理，请核实是否退款）",
    "refunded_while_unpaid": "未支付的订单在微信支付显示已退款",
    "unknown_refund": "退款单在本系统不存在（可能在商户平台手工退款）",
    "refund_mchid_mismatch": "退款通知的商户号与本系统不符",
    "refund_order_mismatch": "退款通知的订单号与退款单不符",
    "refund_amount_mismatch": "退款金额与退款单不符",
    "refund_closed": "退款关闭（未退成功）",
    "refund_abnormal": "退款异常：请在商户平台处理",
    "invoice_needs_reversal": "已开发票的订单已退款：请在税务系统开具红字发票",
    "invoice_modified": "学员已修改发票并重新开具：请在税务系统为原发票开具红字发票",
}


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
