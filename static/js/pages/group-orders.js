// 团购订单: each group order of the payer — its state, invoice and what went back, and its
// trainees (name, masked ID number, whether they are enrolled, whether their share was
// refunded and why, 计划完成度), 50 at a time.
import { STATUS_NAMES, groupMembers, myGroupOrders } from '../api/orders.js';
import { isMissingRoute } from '../core/http.js';
import { alertDialog, boot, dateText, emptyBlock, h, hours, page, progressBar, yuan } from '../core/ui.js';
import { invoicePart } from './invoice-actions.js';
import { refundLines } from './refund-lines.js';

/** 财务 refused the request: why, so that the clerk can apply again with it mended. */
function invoiceRefusal(o) {
  const why = o.invoice && o.invoice.refusalReason;
  return why ? h('div', { class: 'invoice-refusal' }, `未予开具：${why}。请修改后重新申请。`) : null;
}

function invoiceText(o) {
  const inv = o.invoice;
  if (!inv) return o.status === 'SUCCESS' ? '未申请' : '以后申请';
  if (inv.status === 'issued') return `${inv.title}（已开具）`;
  return `${inv.title}（${o.status === 'SUCCESS' ? '开票中' : '立即申请，支付成功后开具'}）`;
}

/** The member's share of this order paid back (or on its way), and why: 已购买该项目，已自动退款 ¥90.00. */
function memberRefund(m) {
  if (!m.refund) return null;
  return h('div', { class: 'member-refund' }, `${m.refund.text} ¥${yuan(m.refund.amountFen)}`);
}

/** Whether a member is learning shows once the order is paid (before, the server says nothing). */
function openedTag(m, paidFor) {
  if (!paidFor) return h('span', { class: 'tag gray nowrap' }, '待支付');
  return m.enrolled ? h('span', { class: 'tag nowrap' }, '已开通') : h('span', { class: 'tag gray nowrap' }, '未开通');
}

function memberRow(m, paidFor) {
  return h(
    'tr',
    {},
    h('td', {}, m.name),
    h('td', {}, m.idNumber),
    h('td', {}, openedTag(m, paidFor), memberRefund(m)),
    h('td', {}, m.enrolled ? [progressBar(m.percent, '计划完成度'), h('div', { class: 'meta' }, `${hours(m.hoursDone)}/${hours(m.requiredHours)} 学时`)] : '—'),
  );
}

function membersTable(o) {
  const paidFor = o.status === 'SUCCESS' || o.status === 'REFUND';
  const row = (m) => memberRow(m, paidFor);
  const body = h('tbody', {}, o.members.map(row));
  const more = h('button', { class: 'weui-btn weui-btn_mini weui-btn_default', type: 'button' }, '加载更多学员');
  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      const next = await groupMembers(o.no, body.children.length);
      body.append(...next.map(row));
      if (!next.length || body.children.length >= o.membersTotal) more.remove();
    } catch (err) {
      if (!err.redirecting) await alertDialog(err.message, '加载失败');
    } finally {
      more.disabled = false;
    }
  });
  return [
    h(
      'table',
      { class: 'result-table member-table' },
      h('thead', {}, h('tr', {}, h('th', {}, '姓名'), h('th', {}, '身份证号码'), h('th', {}, '开通'), h('th', {}, '计划完成度'))),
      body,
    ),
    o.membersTotal > o.members.length ? h('p', { class: 'hint center' }, more) : null,
  ];
}

function orderCard(o) {
  const paid = o.status === 'SUCCESS';
  return h(
    'div',
    { class: 'card group-order', dataset: { orderNo: o.no } },
    h('h3', {}, o.planTitle || '培训项目', h('span', { class: 'tag blue nowrap' }, `团购 ${o.count} 人`)),
    h(
      'div',
      { class: 'meta' },
      h('span', { class: paid ? 'tag' : o.status === 'NOTPAY' ? 'tag warn' : 'tag gray' }, STATUS_NAMES[o.status] || o.status),
      `¥${yuan(o.amountFen)}`,
      h('div', {}, `订单号：${o.no}`),
      o.createdAt ? h('div', {}, `下单时间：${dateText(o.createdAt)}`) : null,
      o.paidAt ? h('div', {}, `支付时间：${dateText(o.paidAt)}`) : null,
      h('div', { class: 'group-invoice' }, `电子发票：${invoiceText(o)}`, invoiceRefusal(o)),
      paid ? h('div', { class: 'group-counts' }, `已开通 ${o.enrolledCount} 人，已达到学分要求 ${o.completedCount} 人`) : null,
      refundLines(o),
    ),
    o.status === 'NOTPAY' ? h('div', { class: 'row' }, h('span', {}), h('a', { class: 'weui-btn weui-btn_mini weui-btn_primary', href: `/h5/order?no=${encodeURIComponent(o.no)}` }, '去支付 / 取消')) : null,
    // The notice: 缴费成功后，在“团购订单”对应订单处，进行查看或补开发票.
    paid ? h('div', { class: 'row group-invoice-actions' }, h('span', {}), h('span', {}, invoicePart(o, load))) : null,
    membersTable(o),
  );
}

async function load() {
  let orders = [];
  let unavailable = false;
  try {
    orders = await myGroupOrders();
  } catch (err) {
    if (!isMissingRoute(err)) throw err;
    unavailable = true;
  }
  page(
    '团购订单',
    [
      h('div', { class: 'page-head' }, h('h1', {}, '团购订单'), h('p', {}, '每笔团购的学员、开通情况和学习进度；发票可在“我的订单”中申请或查看。')),
      unavailable ? h('div', { class: 'notice' }, '订单服务暂未开放，请稍后再试') : null,
      orders.length ? orders.map(orderCard) : emptyBlock('暂无团购订单'),
    ],
    { tab: '/h5/orders' },
  );
}

boot('团购订单', load, { tab: '/h5/orders' });
