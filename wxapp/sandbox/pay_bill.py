"""The sandbox's WeChat Pay v3 trade bill (交易账单): GET /v3/bill/tradebill answers the
file's SHA1 and a download_url; GET /v3/billdownload/file serves the file (gzip when asked).

The file is the real format, built from the sandbox's own payments and refunds of the day
(Beijing time): a header row, one row per payment or refund with every field prefixed by a
backquote, then the summary header and its row. A day's bill exists from the next day on,
as at WeChat Pay; a day without any transaction is NO_STATEMENT_EXIST.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import secrets
from datetime import date, datetime
from typing import Any

from flask import Blueprint, Response, current_app, request

from wxapp.extensions import app_now, get_redis
from wxapp.infra.clock import local
from wxapp.infra.texts import yuan
from wxapp.sandbox import pay_store as store
from wxapp.sandbox.pay import authorization_problem, signed_reply

PREFIX = "/_sandbox"
DOWNLOAD_TTL_S = 5 * 60
bp = Blueprint("sandbox_pay_bill", __name__, url_prefix=PREFIX)

HEADER = [
    "交易时间", "公众账号ID", "商户号", "特约商户号", "设备号", "微信订单号", "商户订单号",
    "用户标识", "交易类型", "交易状态", "付款银行", "货币种类", "应结订单金额", "代金券金额",
    "微信退款单号", "商户退款单号", "退款金额", "充值券退款金额", "退款类型", "退款状态",
    "商品名称", "商户数据包", "手续费", "费率", "订单金额", "申请退款金额", "费率备注",
]  # fmt: skip
SUMMARY = [
    "总交易单数", "应结订单总金额", "退款总金额", "充值券退款总金额", "手续费总金额",
    "订单总金额", "申请退款总金额",
]  # fmt: skip
FEE_RATE = 6  # 0.60 % (千分之六), the usual rate for this kind of merchant


def _fee(fen: int) -> str:
    return f"{fen * FEE_RATE / 1000 / 100:.5f}"


def _when(iso: str) -> str:
    return local(datetime.fromisoformat(iso)).strftime("%Y-%m-%d %H:%M:%S")


def _payment_row(tx: dict[str, Any]) -> list[str]:
    total = tx["amount"]["total"]
    return [
        _when(tx["success_time"]), tx["appid"], tx["mchid"], "0", "", tx["transaction_id"],
        tx["out_trade_no"], (tx.get("payer") or {}).get("openid", ""), tx.get("trade_type", ""),
        "SUCCESS", tx.get("bank_type", "OTHERS"), "CNY", yuan(total), "0.00", "0", "0",
        "0.00", "0.00", "", "", tx.get("description", ""), "", _fee(total), "0.60%",
        yuan(total), "0.00", "",
    ]  # fmt: skip


def _refund_row(refund: dict[str, Any], tx: dict[str, Any] | None) -> list[str]:
    amount = refund["amount"]["refund"]
    return [
        _when(refund["success_time"]), (tx or {}).get("appid", ""), refund["mchid"], "0", "",
        refund["transaction_id"], refund["out_trade_no"],
        ((tx or {}).get("payer") or {}).get("openid", ""), (tx or {}).get("trade_type", ""),
        "REFUND", (tx or {}).get("bank_type", "OTHERS"), "CNY", "0.00", "0.00",
        refund["refund_id"], refund["out_refund_no"], yuan(amount), "0.00", "ORIGINAL",
        "SUCCESS", (tx or {}).get("description", ""), "", f"-{_fee(amount)}", "0.60%", "0.00",
        yuan(amount), "",
    ]  # fmt: skip


def trade_bill(day: str) -> bytes | None:
    """The day's bill as WeChat Pay writes it (UTF-8 CSV), or None without any transaction."""
    r = get_redis()
    payments = store.paid_on(r, day)
    refunds = store.refunded_on(r, day)
    if not payments and not refunds:
        return None
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    rows = [_payment_row(tx) for tx in payments]
    rows += [_refund_row(f, store.load(r, f["out_trade_no"])) for f in refunds]
    for row in rows:
        writer.writerow(["`" + value for value in row])
    paid = sum(tx["amount"]["total"] for tx in payments)
    back = sum(f["amount"]["refund"] for f in refunds)
    fees = (paid - back) * FEE_RATE / 1000 / 100
    writer.writerow(SUMMARY)
    writer.writerow(
        ["`" + v for v in (str(len(rows)), yuan(paid), yuan(back), "0.00", f"{fees:.5f}",
                           yuan(paid), yuan(back))]
    )  # fmt: skip
    return out.getvalue().encode("utf-8")


@bp.before_request
def _authenticate():
    problem = authorization_problem()
    return signed_reply(401, {"code": "SIGN_ERROR", "message": problem}) if problem else None


@bp.get("/v3/bill/tradebill")
def tradebill():
    """申请交易账单: the hash and download address of the day's bill."""
    raw = request.args.get("bill_date", "")
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return signed_reply(
            400, {"code": "PARAM_ERROR", "message": "bill_date 格式应为 YYYY-MM-DD"}
        )
    if request.args.get("bill_type", "ALL") != "ALL":  # SUCCESS and REFUND: not played here
        return signed_reply(
            400, {"code": "PARAM_ERROR", "message": "沙箱只提供 bill_type=ALL 的账单"}
        )
    tar_type = request.args.get("tar_type") or ""
    if tar_type not in ("", "GZIP"):
        return signed_reply(400, {"code": "PARAM_ERROR", "message": "tar_type 错误"})
    if day >= local(app_now()).date():
        return signed_reply(
            400, {"code": "NO_STATEMENT_EXIST", "message": "账单尚未生成（次日生成）"}
        )
    content = trade_bill(day.isoformat())
    if content is None:
        return signed_reply(
            400, {"code": "NO_STATEMENT_EXIST", "message": "该日期无交易，账单不存在"}
        )
    token = secrets.token_urlsafe(24)
    served = gzip.compress(content, mtime=0) if tar_type == "GZIP" else content
    store.save_bill(get_redis(), token, served, DOWNLOAD_TTL_S)
    return signed_reply(
        200,
        {
            "hash_type": "SHA1",
            "hash_value": hashlib.sha1(content).hexdigest(),
            "download_url": f"{current_app.config['WECHATPAY_API_BASE']}"
            f"/v3/billdownload/file?token={token}",
        },
    )


@bp.get("/v3/billdownload/file")
def download():
    """下载账单: the file, once per address, for a few minutes after it was asked for."""
    content = store.load_bill(get_redis(), request.args.get("token", ""))
    if content is None:
        return signed_reply(404, {"code": "RESOURCE_NOT_EXISTS", "message": "下载地址无效或已过期"})
    return Response(content, status=200, content_type="application/octet-stream")
