// The 电子发票 request form, used at purchase (立即申请), on 我的订单 (申请开票) and for a group;
// and the choice at order time, 以后申请 or 立即申请 (个人购买 and 团体购买 alike).
import { h } from '../core/ui.js';

export const INVOICE_RULES = [
  '请在缴费当年申请发票，申请开票成功 15 日内可修改发票 1 次。',
  '开票前，请与贵单位的财务人员核实开票信息，以免填写错误。',
];

// 统一社会信用代码: 18 characters from the code's alphabet (the server checks the check digit).
const TAX_NUMBER = /^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$/;

function radio(name, value, label, checked) {
  return h(
    'label',
    { class: 'weui-cell weui-cell_active weui-check__label' },
    h('div', { class: 'weui-cell__bd' }, h('p', {}, label)),
    h('div', { class: 'weui-cell__ft' }, h('input', { type: 'radio', class: 'weui-check', name, value, checked }), h('span', { class: 'weui-icon-checked' })),
  );
}

function field(label, attrs) {
  return h(
    'label',
    { class: 'weui-cell weui-cell_active' },
    h('div', { class: 'weui-cell__hd' }, h('span', { class: 'weui-label' }, label)),
    h('div', { class: 'weui-cell__bd' }, h('input', { class: 'weui-input', ...attrs })),
  );
}

/** The invoice fields (prefilled from `current`, else 抬头类型 `titleType`); `read()` gives the
 *  body or throws Error(中文). */
export function invoiceFields(current = null, { titleType = '个人' } = {}) {
  const taxCell = field('税号', { name: 'tax_number', placeholder: '单位的统一社会信用代码', maxlength: 18 });
  const node = h(
    'div',
    { class: 'invoice-fields' },
    h('div', { class: 'weui-cells__title' }, '抬头类型'),
    h('div', { class: 'weui-cells weui-cells_radio' }, radio('title_type', '个人', '个人', titleType !== '单位'), radio('title_type', '单位', '单位', titleType === '单位')),
    h(
      'div',
      { class: 'weui-cells weui-cells_form' },
      field('发票抬头', { name: 'title', placeholder: '个人姓名或单位全称', maxlength: 100 }),
      taxCell,
      field('电子邮箱', { name: 'email', type: 'email', placeholder: '接收电子发票', maxlength: 100 }),
    ),
    h('div', { class: 'weui-cells__tips' }, INVOICE_RULES.join('')),
  );
  const sync = () => {
    taxCell.style.display = node.querySelector('input[name=title_type]:checked').value === '单位' ? '' : 'none';
  };
  if (current) {
    node.querySelector(`input[name=title_type][value="${current.titleType === '单位' ? '单位' : '个人'}"]`).checked = true;
    node.querySelector('input[name=title]').value = current.title || '';
    node.querySelector('input[name=tax_number]').value = current.taxNumber || '';
    node.querySelector('input[name=email]').value = current.email || '';
  }
  node.addEventListener('change', sync);
  sync();
  const read = () => {
    const titleType = node.querySelector('input[name=title_type]:checked').value;
    const title = node.querySelector('input[name=title]').value.trim();
    const taxNumber = node.querySelector('input[name=tax_number]').value.trim().toUpperCase();
    const email = node.querySelector('input[name=email]').value.trim();
    if (!title) throw new Error('请填写发票抬头');
    if (titleType === '单位' && !TAX_NUMBER.test(taxNumber)) throw new Error('请填写正确的税号（18 位统一社会信用代码）');
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) throw new Error('请填写正确的电子邮箱');
    return { title_type: titleType, title, tax_number: titleType === '单位' ? taxNumber : null, email };
  };
  return { node, read };
}

/** What became of an order's invoice, the same words on 我的订单 and the order page. */
export function invoiceState(order) {
  const inv = order.invoice;
  if (inv.status === 'issued') return '已开具';
  if (inv.status === 'refused') return '未予开具';
  if (order.status === 'SUCCESS') return '开票中';
  return order.status === 'NOTPAY' ? '立即申请，支付成功后开具' : '未开具';
}

/**
 * 电子发票 at order time: 以后申请 (the default) or 立即申请 with the form, its 抬头类型 first
 * `titleType` (个人 for a trainee buying alone; 团体购买 passes 单位, its usual invoice).
 * `read()` gives the invoice body for 立即申请, null for 以后申请, or throws Error(中文).
 */
export function invoiceChoice({ titleType = '个人' } = {}) {
  const invoice = invoiceFields(null, { titleType });
  const laterTip = h('div', { class: 'weui-cells__tips', id: 'invoice-later-tip' }, `选择“以后申请”的，缴费成功后可在“我的订单”中申请开票。${INVOICE_RULES[0]}`);
  invoice.node.style.display = 'none';
  const node = h(
    'div',
    { class: 'invoice-choice' },
    h('div', { class: 'weui-cells__title' }, '电子发票'),
    h(
      'div',
      {
        class: 'weui-cells weui-cells_radio',
        onchange: (e) => {
          if (e.target.name !== 'invoice_when') return;
          // 立即申请 shows the form with the invoice rules; 以后申请 says where to apply later.
          invoice.node.style.display = e.target.value === 'now' ? '' : 'none';
          laterTip.hidden = e.target.value === 'now';
        },
      },
      ['later', 'now'].map((v) => radio('invoice_when', v, v === 'now' ? '立即申请' : '以后申请', v === 'later')),
    ),
    invoice.node,
    laterTip,
  );
  const read = () => (node.querySelector('input[name=invoice_when]:checked').value === 'now' ? invoice.read() : null);
  return { node, read };
}
