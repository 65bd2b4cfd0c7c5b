// What went back of a paid order, and why: 已退款 / 退款中 with the amounts, and each reason
// in the server's fixed words (an operator's own note never reaches the page). Shown on
// 我的订单, 订单详情 and 团购订单.
import { h, yuan } from '../core/ui.js';

export function refundLines(order) {
  const parts = [];
  if (order.refundedFen) parts.push(`已退款 ¥${yuan(order.refundedFen)}`);
  if (order.refundingFen) parts.push(`退款中 ¥${yuan(order.refundingFen)}（原路退回）`);
  if (!parts.length) return null;
  return [
    h('div', { class: 'refund-line' }, parts.join('，')),
    (order.refundReasons || []).map((r) => h('div', { class: 'refund-reason' }, `退款原因：${r.text}`)),
  ];
}
