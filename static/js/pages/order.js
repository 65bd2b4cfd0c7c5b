// 订单支付: one order (个人 or 团购) — its amount and invoice; unpaid, 扫码支付 outside WeChat
// (the page turns to 已支付 by itself once paid) or 微信支付 inside it, and 取消订单; paid, what
// went back and why (已退款 with its reason).
import { STATUS_NAMES, getOrder } from '../api/orders.js';
import { boot, dateText, h, inWeChat, page, params, toast, yuan } from '../core/ui.js';
import { invoiceState } from './invoice-form.js';
import { cancelAfterConfirm, payOrder } from './pay-flow.js';
import { qrPayPanel } from './qr-pay.js';
import { refundLines } from './refund-lines.js';

const no = params().get('no');

function invoiceText(order) {
  const inv = order.invoice;
  if (!inv) return order.status === 'SUCCESS' ? '未申请（可在“我的订单”中申请开票）' : '以后申请（缴费成功后可在“我的订单”中申请）';
  if (inv.status === 'refused') return `${inv.title}（未予开具：${inv.refusalReason}）`;
  return `${inv.title}（${invoiceState(order)}）`;
}

function summary(order) {
  return h(
    'div',
    { class: 'card', id: 'order-card' },
    h('h3', {}, order.planTitle || '培训项目', order.group ? h('span', { class: 'tag blue nowrap', id: 'group-count' }, `团购 ${order.count} 人`) : null),
    h(
      'div',
      { class: 'meta' },
      h('span', { class: order.status === 'SUCCESS' ? 'tag' : order.status === 'NOTPAY' ? 'tag warn' : 'tag gray', id: 'order-status' }, STATUS_NAMES[order.status] || order.status),
      h('div', {}, `订单号：${order.no}`),
      order.createdAt ? h('div', {}, `下单时间：${dateText(order.createdAt)}`) : null,
      order.paidAt ? h('div', {}, `支付时间：${dateText(order.paidAt)}`) : null,
      order.status === 'NOTPAY' && order.expiresAt ? h('div', {}, `请在 ${dateText(order.expiresAt)} 前完成支付`) : null,
      h('div', { id: 'order-invoice' }, `电子发票：${invoiceText(order)}`),
      refundLines(order),
    ),
    h('div', { class: 'row' }, h('span', { class: 'price' }, `¥${yuan(order.amountFen)}`)),
  );
}

function paidBlock(order) {
  return h(
    'div',
    { class: 'weui-msg', id: 'pay-success', role: 'status' },
    h('div', { class: 'weui-msg__icon-area' }, h('i', { class: 'weui-icon-success weui-icon_msg' })),
    h(
      'div',
      { class: 'weui-msg__text-area' },
      h('h2', { class: 'weui-msg__title' }, '支付成功'),
      h('p', { class: 'weui-msg__desc' }, order.group ? `${order.count} 名学员即可登录进行学习` : '现在可以开始学习了'),
    ),
    h(
      'div',
      { class: 'weui-msg__opr-area' },
      h(
        'p',
        { class: 'weui-btn-area' },
        order.group
          ? h('a', { class: 'weui-btn weui-btn_primary', href: '/h5/group-orders' }, '查看团购订单')
          : h('a', { class: 'weui-btn weui-btn_primary', href: `/h5/plan?id=${order.planId}` }, '开始学习'),
        h('a', { class: 'weui-btn weui-btn_default', href: '/h5/orders' }, '我的订单'),
      ),
    ),
  );
}

async function cancel(order) {
  if (await cancelAfterConfirm(order.no)) await load();
}

function unpaidBlock(order) {
  const onPaid = async () => {
    toast('支付成功');
    await load();
  };
  return [
    h('div', { class: 'weui-cells__title' }, inWeChat() ? '微信支付' : '扫码支付'),
    inWeChat()
      ? h('div', { class: 'weui-btn-area' }, h('button', { class: 'weui-btn weui-btn_primary', id: 'pay-jsapi', onclick: async () => (await payOrder(order.no)) && onPaid() }, '微信支付'))
      : h('div', { class: 'card' }, qrPayPanel(order.no, { onPaid, onClosed: load })),
    h('div', { class: 'weui-btn-area' }, h('button', { class: 'weui-btn weui-btn_default', id: 'cancel-order', onclick: () => cancel(order) }, '取消订单')),
  ];
}

function closedBlock(order) {
  // Paid back because the trainee holds the plan already: nothing to buy again, only to learn.
  const held = !order.group && order.refundReasons.some((r) => r.code === 'already_enrolled');
  return h(
    'div',
    { class: 'notice', id: 'order-closed', role: 'status' },
    order.status === 'CLOSED' ? '订单已关闭。' : `订单${STATUS_NAMES[order.status] || ''}。`,
    order.group
      ? h('a', { href: `/h5/group?plan=${order.planId}` }, '重新提交团购名单')
      : h('a', { href: `/h5/plan?id=${order.planId}` }, held ? '开始学习' : '重新购买'),
  );
}

async function load() {
  if (!no) throw new Error('缺少订单号，请从“我的订单”进入');
  const order = await getOrder(no);
  page('订单支付', [
    h('div', { class: 'page-head' }, h('h1', {}, order.status === 'NOTPAY' ? '订单支付' : '订单详情')),
    summary(order),
    order.status === 'SUCCESS' ? paidBlock(order) : order.status === 'NOTPAY' ? unpaidBlock(order) : closedBlock(order),
  ]);
}

boot('订单支付', load);
