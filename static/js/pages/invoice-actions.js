// 申请开票 and 修改发票 on a paid order, with the form in a half-screen sheet: 我的订单 and
// 团购订单 (the notice: 缴费成功后，在“团购订单”对应订单处，进行查看或补开发票) share them.
import { modifyInvoice, requestInvoice } from '../api/orders.js';
import { alertDialog, h, toast, topTips, yuan } from '../core/ui.js';
import { invoiceFields } from './invoice-form.js';

function invoiceSheet(order, reload) {
  // A unit's invoice (with its 税号) is what a group order is mostly invoiced to.
  const fields = invoiceFields(order.invoice, { titleType: order.group ? '单位' : '个人' });
  const close = () => sheet.remove();
  const submit = h('button', { class: 'weui-btn weui-btn_primary', id: 'submit-invoice' }, '提交申请');
  const cancel = h('button', { type: 'button', class: 'weui-btn weui-btn_default', id: 'cancel-invoice', onclick: close }, '取消');
  const sheet = h(
    'div',
    { class: 'invoice-sheet', role: 'dialog', 'aria-label': '申请开票' },
    h('div', { class: 'weui-mask', onclick: close }),
    h(
      'div',
      { class: 'weui-half-screen-dialog', style: { maxHeight: '88vh' } },
      h('div', { class: 'weui-half-screen-dialog__hd' }, h('div', { class: 'weui-half-screen-dialog__hd__main' }, h('strong', { class: 'weui-half-screen-dialog__title' }, order.invoice ? '修改发票' : '申请开票'))),
      h('div', { class: 'weui-half-screen-dialog__bd' }, h('div', { class: 'meta' }, `${order.planTitle}　¥${yuan(order.amountFen)}`), fields.node),
      h('div', { class: 'weui-half-screen-dialog__ft row' }, cancel, submit),
    ),
  );
  submit.addEventListener('click', async () => {
    let body;
    try {
      body = fields.read();
    } catch (err) {
      return topTips(err.message);
    }
    submit.disabled = true;
    try {
      if (order.invoice && order.invoice.status === 'issued') await modifyInvoice(order.invoice.id, body);
      else await requestInvoice(order.no, body);
      close();
      toast(order.invoice ? '发票已修改' : '已提交开票申请');
      await reload();
    } catch (err) {
      if (!err.redirecting) await alertDialog(err.message, '无法开票');
    } finally {
      submit.disabled = false;
    }
  });
  document.body.append(sheet);
}

/** 申请开票 / 重新申请 / 查看发票 / 修改发票 for a paid order; `reload` draws the page again after. */
export function invoicePart(order, reload) {
  if (order.status !== 'SUCCESS') return null;
  if (order.refundedFen + order.refundingFen >= order.amountFen) return null; // nothing kept to invoice
  const inv = order.invoice;
  if (!inv) return h('button', { class: 'weui-btn weui-btn_mini weui-btn_default', onclick: () => invoiceSheet(order, reload) }, '申请开票');
  if (inv.status === 'refused') return h('button', { class: 'weui-btn weui-btn_mini weui-btn_default', onclick: () => invoiceSheet(order, reload) }, '重新申请');
  return [
    inv.pdfUrl ? h('a', { class: 'weui-btn weui-btn_mini weui-btn_default', href: inv.pdfUrl, target: '_blank' }, '查看发票') : h('span', { class: 'tag gray' }, inv.status === 'issued' ? '已开具' : '开票中'),
    inv.modifiable ? h('button', { class: 'weui-btn weui-btn_mini weui-btn_default', onclick: () => invoiceSheet(order, reload) }, '修改发票') : null,
  ];
}
