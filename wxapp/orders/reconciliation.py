"""The daily reconciliation (每日对账): WeChat Pay's trade bill of a day against the orders.

WeChat Pay writes, each morning, the bill of the day before (v3 bill API: the pay adapter's
`download_trade_bill`, its SHA1 checked). Each payment and refund in it is matched with ours
by out_trade_no / out_refund_no; what does not match is a difference for 财务:

- paid at WeChat Pay but not here (a lost notification the unpaid-order query has not yet
  settled, or an order unknown here);
- the amount differs (the bill's 订单金额 against the order's, in 分);
- paid here on that day but absent from the bill;
- the same three for refunds.

Parsing and comparing are pure functions of plain values; `reconcile_day` reads the orders
and refunds of the day (Beijing time) and calls WeChat Pay after ending its read.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa

from models import Order, OrderStatus, Refund, RefundStatus, db
from wxapp.infra.clock import day_start
from wxapp.infra.transaction import end_read
from wxapp.pay.client import PayClient

PAID_HERE = (OrderStatus.SUCCESS, OrderStatus.REFUND)

MISSING_HERE = "missing_here"
AMOUNT_DIFFERS = "amount_differs"
MISSING_THERE = "missing_there"
REFUND_MISSING_HERE = "refund_missing_here"
REFUND_AMOUNT_DIFFERS = "refund_amount_differs"
REFUND_MISSING_THERE = "refund_missing_there"
KIND_LABELS = {
    MISSING_HERE: "微信支付已收款，本系统未记为已支付",
    AMOUNT_DIFFERS: "金额不一致",
    MISSING_THERE: "本系统已支付，微信支付账单中没有",
    REFUND_MISSING_HERE: "微信支付已退款，本系统未记为退款成功",
    REFUND_AMOUNT_DIFFERS: "退款金额不一致",
    REFUND_MISSING_THERE: "本系统退款成功，微信支付账单中没有",
}


class BillFormatError(ValueError):
    """The bill's text is not a WeChat Pay trade bill."""


@dataclass(frozen=True)
class BillRow:
    """One payment (state SUCCESS) or refund (state REFUND) of the bill; amounts in 分."""

    at: str
    transaction_id: str
    out_trade_no: str
    state: str
    amount_fen: int
    out_refund_no: str = ""


@dataclass(frozen=True)
class OurPayment:
    out_trade_no: str
    status: str
    amount_fen: int
    paid_that_day: bool


@dataclass(frozen=True)
class OurRefund:
    out_refund_no: str
    out_trade_no: str
    status: str
    amount_fen: int
    succeeded_that_day: bool


@dataclass(frozen=True)
class Difference:
    kind: str
    out_trade_no: str
    ours_fen: int | None
    theirs_fen: int | None
    out_refund_no: str = ""
    our_status: str | None = None

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]


@dataclass
class Report:
    day: date
    bill_found: bool
    payments: int = 0
    paid_fen: int = 0
    refunds: int = 0
    refunded_fen: int = 0
    differences: list[Difference] = field(default_factory=list)


def to_fen(text: str) -> int:
    """A bill amount in 元 (two decimals) to integer 分; BillFormatError otherwise."""
    try:
        value = Decimal(text) * 100
    except InvalidOperation:
        raise BillFormatError(f"金额格式错误：{text!r}") from None
    if value != value.to_integral_value():
        raise BillFormatError(f"金额格式错误：{text!r}")
    return int(value)


def parse_trade_bill(text: str) -> list[BillRow]:
    """The payment and refund rows of a trade bill (ALL); the summary rows and revoked
    payments (no money moved) are left out."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows or "商户订单号" not in rows[0]:
        raise BillFormatError("不是微信支付交易账单：缺少表头")
    header = rows[0]
    try:
        col = {name: header.index(name) for name in (
            "交易时间", "微信订单号", "商户订单号", "交易状态", "应结订单金额",
            "订单金额", "商户退款单号", "退款金额",
        )}  # fmt: skip
    except ValueError as err:
        raise BillFormatError(f"账单表头缺少列：{err}") from None
    found = []
    for row in rows[1:]:
        if not row or not row[0].startswith("`"):
            break  # the summary header (总交易单数, ...) ends the rows
        if len(row) != len(header):
            raise BillFormatError(f"账单第 {len(found) + 2} 行的列数不对")
        value = {name: row[i].removeprefix("`").strip() for name, i in col.items()}
        state = value["交易状态"]
        if state not in ("SUCCESS", "REFUND"):
            continue  # REVOKED: a 付款码 payment of another channel, cancelled; no money moved
        if state == "REFUND":
            amount, out_refund_no = value["退款金额"], value["商户退款单号"]
        else:
            amount, out_refund_no = value["订单金额"] or value["应结订单金额"], ""
        found.append(
            BillRow(
                value["交易时间"],
                value["微信订单号"],
                value["商户订单号"],
                state,
                to_fen(amount),
                out_refund_no,
            )
        )
    return found


def compare(
    bill: list[BillRow], payments: list[OurPayment], refunds: list[OurRefund]
) -> list[Difference]:
    """Every difference between the bill and ours (pure)."""
    ours = {p.out_trade_no: p for p in payments}
    our_refunds = {f.out_refund_no: f for f in refunds}
    differences: list[Difference] = []
    billed, billed_refunds = set(), set()
    for row in bill:
        if row.state == "REFUND":
            billed_refunds.add(row.out_refund_no)
            refund = our_refunds.get(row.out_refund_no)
            if refund is None or refund.status != RefundStatus.SUCCESS:
                differences.append(
                    Difference(
                        REFUND_MISSING_HERE,
                        row.out_trade_no,
                        refund.amount_fen if refund else None,
                        row.amount_fen,
                        row.out_refund_no,
                        refund.status if refund else None,
                    )
                )
            elif refund.amount_fen != row.amount_fen:
                differences.append(
                    Difference(
                        REFUND_AMOUNT_DIFFERS,
                        row.out_trade_no,
                        refund.amount_fen,
                        row.amount_fen,
                        row.out_refund_no,
                        refund.status,
                    )
                )
            continue
        billed.add(row.out_trade_no)
        order = ours.get(row.out_trade_no)
        if order is None or order.status not in PAID_HERE:
            differences.append(
                Difference(
                    MISSING_HERE,
                    row.out_trade_no,
                    order.amount_fen if order else None,
                    row.amount_fen,
                    our_status=order.status if order else None,
                )
            )
        elif order.amount_fen != row.amount_fen:
            differences.append(
                Difference(
                    AMOUNT_DIFFERS, row.out_trade_no, order.amount_fen, row.amount_fen,
                    our_status=order.status,
                )
            )  # fmt: skip
    for order in payments:
        if order.paid_that_day and order.out_trade_no not in billed:
            differences.append(
                Difference(
                    MISSING_THERE, order.out_trade_no, order.amount_fen, None,
                    our_status=order.status,
                )
            )  # fmt: skip
    for refund in refunds:
        if refund.succeeded_that_day and refund.out_refund_no not in billed_refunds:
            differences.append(
                Difference(
                    REFUND_MISSING_THERE,
                    refund.out_trade_no,
                    refund.amount_fen,
                    None,
                    refund.out_refund_no,
                    refund.status,
                )
            )
    return differences


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The day in Beijing time, as the bill counts it."""
    start = day_start(day)
    return start, start + timedelta(days=1)


def _ours(bill: list[BillRow], day: date) -> tuple[list[OurPayment], list[OurRefund]]:
    start, end = day_bounds(day)
    numbers = {row.out_trade_no for row in bill}
    paid_that_day = sa.and_(
        Order.status.in_(PAID_HERE), Order.success_time >= start, Order.success_time < end
    )
    payments = [
        OurPayment(no, status, amount, bool(that_day))
        for no, status, amount, that_day in db.session.execute(
            sa.select(Order.out_trade_no, Order.status, Order.amount_fen, paid_that_day).where(
                sa.or_(Order.out_trade_no.in_(numbers), paid_that_day)
            )
        ).all()
    ]
    refund_numbers = {row.out_refund_no for row in bill if row.out_refund_no}
    succeeded_that_day = sa.and_(
        Refund.status == RefundStatus.SUCCESS,
        Refund.succeeded_at >= start,
        Refund.succeeded_at < end,
    )
    refunds = [
        OurRefund(no, trade_no, status, amount, bool(that_day))
        for no, trade_no, status, amount, that_day in db.session.execute(
            sa.select(
                Refund.out_refund_no,
                Order.out_trade_no,
                Refund.status,
                Refund.amount_fen,
                succeeded_that_day,
            )
            .join(Order, Order.id == Refund.order_id)
            .where(sa.or_(Refund.out_refund_no.in_(refund_numbers), succeeded_that_day))
        ).all()
    ]
    return payments, refunds


def reconcile_day(client: PayClient, day: date) -> Report:
    """Download the day's bill and list its differences with the orders and refunds.

    Reads only; a PayGatewayError (WeChat Pay unreachable, a bad hash) or a BillFormatError
    goes to the caller. The bill is fetched with no transaction open."""
    end_read()
    text = client.download_trade_bill(day.isoformat())
    bill = parse_trade_bill(text) if text is not None else []
    payments, refunds = _ours(bill, day)
    report = Report(day=day, bill_found=text is not None)
    for row in bill:
        if row.state == "REFUND":
            report.refunds += 1
            report.refunded_fen += row.amount_fen
        else:
            report.payments += 1
            report.paid_fen += row.amount_fen
    report.differences = compare(bill, payments, refunds)
    return report
