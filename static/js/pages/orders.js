// 我的订单 / 发票: orders with their state, 继续支付, 取消订单, 申请开票 with its rules, the invoice PDF.
import { STATUS_NAMES, myOrders } from '../api/orders.js';
import { isMissingRoute } from '../core/http.js';
import { boot, dateText, emptyBlock, h, inWeChat, page, toast, yuan } from '../core/ui.js';
import { INVOICE_RULES, invoiceState } from './invoice-form.js';
import { invoicePart } from './invoice-actions.js';
import { cancelAfterConfirm, payOrder } from './pay-flow.js';
import { refundLines } from './refund-lines.js';

/** 继续支付: WeChat Pay inside WeChat; elsewhere the order page's 扫码支付 (one QR path). */
async function continuePay(order) {
  if (!inWeChat()) {
    window.location.assign(`/h5/order?no=${encodeURIComponent(order.no)}`);
    return;
  }
  if (await payOrder(order.no)) {
    toast('支付成功');
    await load();
  }
}

async function cancel(order) {
  if (await cancelAfterConfirm(order.no)) await load();
}

function orderCard(o) {
  const paid = o.status === 'SUCCESS';
  return h(
    'div',
    { class: 'card order-card', dataset: { orderNo: o.no } },
    h('h3', {}, o.planTitle || '培训项目', o.group ? h('span', { class: 'tag blue nowrap group-count' }, `团购 ${o.count} 人`) : null),
    h(
      'div',
      { class: 'meta' },
      h('span', { class: paid ? 'tag' : o.status === 'NOTPAY' ? 'tag warn' : 'tag gray' }, STATUS_NAMES[o.status] || o.status),
      h('div', {}, `订单号：${o.no}`),
      o.createdAt ? h('div', {}, `下单时间：${dateText(o.createdAt)}`) : null,
      o.paidAt ? h('div', {}, `支付时间：${dateText(o.paidAt)}`) : null,
      refundLines(o), // a member who had bought the plan already, or an operator's refund
      o.invoice ? h('div', {}, `发票：${o.invoice.title}（${invoiceState(o)}）${o.invoice.number ? `，号码 ${o.invoice.number}` : ''}`) : null,
      o.invoice && o.invoice.refusalReason ? h('div', { class: 'invoice-refusal' }, `未予开具：${o.invoice.refusalReason}。请修改后重新申请。`) : null,
    ),
    h(
      'div',
      { class: 'row' },
      h('span', { class: 'price' }, `¥${yuan(o.amountFen)}`),
      h(
        'span',
        { class: 'actions' },
        o.status === 'NOTPAY' ? h('button', { class: 'weui-btn weui-btn_mini weui-btn_default cancel-order', onclick: () => cancel(o) }, '取消订单') : null,
        o.status === 'NOTPAY' ? h('button', { class: 'weui-btn weui-btn_mini weui-btn_primary', onclick: () => continuePay(o) }, '继续支付') : null,
        invoicePart(o, load),
      ),
    ),
  );
}

async function load() {
  let orders = [];
  let unavailable = false;
  try {
    orders = await myOrders();
  } catch (err) {
    if (!isMissingRoute(err)) throw err;
    unavailable = true;
  }
  page(
    '我的订单',
    [
      h('div', { class: 'page-head' }, h('h1', {}, '我的订单'), h('p', {}, '缴费成功后，可在已缴费的订单处查看发票或申请开票。'), orders.some((o) => o.group) ? h('p', {}, h('a', { href: '/h5/group-orders', id: 'group-orders-link' }, '团购订单：查看每笔团购的学员及学习情况')) : null),
      unavailable ? h('div', { class: 'notice' }, '订单服务暂未开放，请稍后再试') : null,
      orders.length ? orders.map(orderCard) : emptyBlock('暂无订单'),
      h('div', { class: 'weui-cells__title' }, '电子发票注意事项'),
      h('div', { class: 'hint' }, INVOICE_RULES.map((r, i) => h('div', {}, `${i + 1}. ${r}`))),
    ],
    { tab: '/h5/orders' },
  );
}

boot('我的订单', load, { tab: '/h5/orders' });
