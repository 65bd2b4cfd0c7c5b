// Order calls: individual and group orders, pay parameters, order state, invoices.
import { get, post, put } from '../core/http.js';
import { list, num, pick } from './normalize.js';

export const STATUS_NAMES = {
  NOTPAY: '待支付',
  USERPAYING: '支付中',
  SUCCESS: '已支付',
  CLOSED: '已关闭',
  REFUND: '已退款',
  PAYERROR: '支付失败',
  REVOKED: '已撤销',
};

function amountFen(o) {
  const a = pick(o, ['amount', 'amount_fen', 'total_fen', 'total']);
  if (a && typeof a === 'object') return num(pick(a, ['total', 'payer_total']));
  return num(a);
}

export function normalizeInvoice(inv) {
  if (!inv || typeof inv !== 'object') return null;
  const id = pick(inv, ['id', 'invoice_id']);
  const status = pick(inv, ['status'], '');
  // pdf_url is null until the invoice is issued; an older reply may only give the id.
  const pdfUrl = 'pdf_url' in inv ? inv.pdf_url || '' : status === 'issued' && id ? `/api/invoices/${id}.pdf` : '';
  return {
    id,
    status,
    titleType: pick(inv, ['title_type'], ''),
    title: pick(inv, ['title'], ''),
    taxNumber: pick(inv, ['tax_number', 'tax_no'], ''),
    email: pick(inv, ['email'], ''),
    issuedAt: pick(inv, ['issued_at']),
    // Issued invoices may be modified once (within 15 days: the server says no after that).
    modifiable: pick(inv, ['modifiable', 'can_modify'], status === 'issued' && num(pick(inv, ['modified_count'])) === 0),
    pdfUrl,
    number: pick(inv, ['number'], ''),
    // 财务 refused the request: the reason is shown and the trainee may apply again.
    refusalReason: pick(inv, ['refusal_reason'], ''),
  };
}

export function normalizeOrder(o) {
  const plan = pick(o, ['plan'], {});
  return {
    no: pick(o, ['out_trade_no', 'order_no', 'no']),
    status: pick(o, ['status', 'trade_state'], 'NOTPAY'),
    amountFen: amountFen(o),
    planId: pick(o, ['plan_id'], pick(plan, ['id'])),
    planTitle: pick(o, ['plan_title', 'title', 'description'], pick(plan, ['title'], '')),
    group: Boolean(pick(o, ['group', 'is_group'], pick(o, ['kind', 'type']) === 'group')),
    count: num(pick(o, ['count', 'quantity', 'trainee_count']), 1),
    createdAt: pick(o, ['created_at']),
    paidAt: pick(o, ['success_time', 'paid_at']),
    expiresAt: pick(o, ['expires_at', 'time_expire']),
    refundedFen: num(pick(o, ['refunded']), 0),
    refundingFen: num(pick(o, ['refunding']), 0),
    // Why, in the server's fixed words per reason (already_enrolled, operator).
    refundReasons: list(pick(o, ['refund_reasons'], []))
      .map((r) => ({ code: pick(r, ['reason'], ''), text: pick(r, ['text'], '') }))
      .filter((r) => r.text),
    invoice: normalizeInvoice(pick(o, ['invoice'])),
    invoiceAllowed: pick(o, ['invoice_allowed', 'can_invoice'], undefined),
  };
}

export async function createOrder(planId, invoice = null) {
  return normalizeOrder(await post('/api/orders', { plan_id: Number(planId), invoice }));
}

/** The parameters for WeixinJSBridge.invoke('getBrandWCPayRequest', ...), and whether the
 * service runs on the sandbox (whose stand-in bridge the page may then load). */
export async function payParams(no) {
  const raw = await post(`/api/orders/${encodeURIComponent(no)}/pay`, { method: 'jsapi' });
  return { params: pick(raw, ['params', 'pay_params'], raw), sandbox: raw.sandbox === true };
}

/** Native (扫码) payment for a PC: the QR code image, and in the sandbox its scan page. */
export async function nativePay(no) {
  const raw = await post(`/api/orders/${encodeURIComponent(no)}/pay`, { method: 'native' });
  return {
    qrcodeUrl: pick(raw, ['qrcode_url'], qrcodeUrl(no)),
    codeUrl: pick(raw, ['code_url'], ''),
    sandboxScanUrl: pick(raw, ['sandbox_scan_url'], ''),
  };
}

export const getOrder = async (no, opts) => normalizeOrder(await get(`/api/orders/${encodeURIComponent(no)}`, opts));
export const myOrders = async () => list(pick(await get('/api/me/orders'), ['items', 'orders'], [])).map(normalizeOrder);
export const qrcodeUrl = (no) => `/api/orders/${encodeURIComponent(no)}/qrcode.png`;

/** 取消订单 (closed at WeChat Pay too); an order paid meanwhile answers 409 order_paid. */
export const cancelOrder = async (no) => normalizeOrder(await post(`/api/orders/${encodeURIComponent(no)}/cancel`));

function normalizeMember(m) {
  return {
    name: pick(m, ['name'], ''),
    idNumber: pick(m, ['id_number_masked'], ''),
    enrolled: Boolean(pick(m, ['enrolled'], false)),
    hoursDone: num(pick(m, ['hours_done'])),
    requiredHours: num(pick(m, ['required_hours'])),
    percent: num(pick(m, ['percent'])),
    refund: normalizeMemberRefund(pick(m, ['refund'])),
  };
}

/** A member's share refunded (or on its way back): why, in the server's words, and how much. */
function normalizeMemberRefund(r) {
  if (!r || typeof r !== 'object') return null;
  return { done: pick(r, ['status']) === 'refunded', amountFen: num(pick(r, ['amount'])), text: pick(r, ['text'], '') };
}

/** 团购订单: the payer's group orders, each with its trainees and invoice. */
export async function myGroupOrders() {
  return list(pick(await get('/api/me/group-orders'), ['items'], [])).map((o) => ({
    ...normalizeOrder(o),
    enrolledCount: num(pick(o, ['enrolled_count'])),
    completedCount: num(pick(o, ['completed_count'])),
    membersTotal: num(pick(o, ['members_total'])),
    members: list(pick(o, ['members'], [])).map(normalizeMember),
  }));
}

/** The next page of a group order's trainees. */
export async function groupMembers(no, offset) {
  const raw = await get(`/api/group-orders/${encodeURIComponent(no)}/members`, { query: { offset } });
  return list(pick(raw, ['members'], [])).map(normalizeMember);
}

/** 团体购买: check the pasted list and order for the accepted. `replaceOrders`: the payer's
 *  unpaid group orders of the plan to cancel first (修改并重新提交, closed at WeChat Pay too). */
export async function createGroupOrder(planId, idNumbers, invoice = null, replaceOrders = []) {
  const body = { plan_id: Number(planId), id_numbers: idNumbers, invoice };
  if (replaceOrders.length) body.replace_orders = replaceOrders;
  const raw = await post('/api/group-orders', body);
  const order = pick(raw, ['order']);
  const accepted = pick(raw, ['accepted_count', 'accepted', 'count']);
  const orderRaw = order || (pick(raw, ['out_trade_no']) ? raw : null);
  return {
    order: orderRaw ? normalizeOrder(orderRaw) : null,
    acceptedCount: Array.isArray(accepted) ? accepted.length : num(accepted),
    amountFen: orderRaw ? amountFen(orderRaw) : amountFen(raw),
    rejects: list(pick(raw, ['rejects', 'rejected', 'errors'], [])).map((r) => ({
      line: pick(r, ['line', 'line_no', 'row']),
      idNumber: pick(r, ['id_number', 'value', 'text'], ''),
      reason: pick(r, ['reason', 'message'], ''),
    })),
    errorFileUrl: pick(raw, ['error_file_url', 'error_file', 'errors_url'], ''),
    // The payer's other unpaid group orders holding lines of this paste (未支付的团购订单).
    pendingOrders: list(pick(raw, ['pending_orders'], [])).map((o) => ({
      no: pick(o, ['out_trade_no']),
      count: num(pick(o, ['quantity'])),
      amountFen: num(pick(o, ['amount'])),
      lines: num(pick(o, ['lines'])),
      createdAt: pick(o, ['created_at']),
    })),
    replaced: list(pick(raw, ['replaced'], [])),
  };
}

/** A group order's members who bought the plan meanwhile (409 members_enrolled), masked. */
export function enrolledMembers(err) {
  return list(pick(err && err.body, ['members'], [])).map((m) => ({ name: pick(m, ['name'], ''), idNumber: pick(m, ['id_number_masked'], '') }));
}

/** 申请开票 on a paid order (at purchase it travels inside POST /api/orders instead). */
export async function requestInvoice(no, invoice) {
  return normalizeInvoice(await post(`/api/orders/${encodeURIComponent(no)}/invoice`, invoice));
}

/** 修改发票: once, within 15 days of issue. */
export async function modifyInvoice(id, invoice) {
  return normalizeInvoice(await put(`/api/invoices/${encodeURIComponent(id)}`, invoice));
}
