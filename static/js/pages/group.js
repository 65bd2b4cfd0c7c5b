// 团体购买: pasted ID numbers (one per line), 电子发票 以后申请 / 立即申请 (抬头类型 单位 first),
// the per-line result, 下载错误文件, 修改并重新提交 over the payer's earlier unpaid order, and
// paying the order for the accepted trainees: 扫码支付 outside WeChat (the page turns to
// 支付成功 by itself), WeChat Pay (JSAPI) inside it.
import { planDetail } from '../api/catalogue.js';
import { createGroupOrder } from '../api/orders.js';
import { $, alertDialog, boot, confirmDialog, dateText, h, hours, inWeChat, page, params, toast, topTips, yuan } from '../core/ui.js';
import { invoiceChoice } from './invoice-form.js';
import { payOrder } from './pay-flow.js';
import { qrPayPanel } from './qr-pay.js';

const planId = params().get('plan');
const ADVICE = '人员数量较多的情况，可直接从名单表格中复制身份证号码粘贴至输入框内，仅复制身份证号码，每行一个，请注意身份证中字母 X 大写，身份证前后不要有空格、特殊字符。';
// 账号注册 before 统一缴费 (the notice): few unregistered register themselves; more than 10,
// the unit sends the 学员注册名单 (附件2) to the centre (wxapp/infra/texts.REGISTRATION_EMAIL).
const REGISTRATION_EMAIL = '2020gxkm@cqhrsp.com';

function registrationHint() {
  return h(
    'div',
    { class: 'weui-cells__tips', id: 'registration-hint' },
    '学员尚未注册账号的：人数较少时，可由学员在平台上自主注册；单位未注册人数超过 10 人的，可',
    h('a', { href: '/api/register/roster-template.xlsx', download: '', id: 'roster-template' }, '下载《学员注册名单》（附件2）'),
    `，填写后发送至 ${REGISTRATION_EMAIL} 邮箱，收到邮件后 2 个工作日内由市人服中心统一注册，注册完毕会回复邮件。`,
  );
}
// The server's limit (wxapp/orders/group.py MAX_LINES), documented as `x-max-lines` of
// POST /api/group-orders' id_numbers in docs/openapi.yaml; a test holds the three together.
const MAX_LINES = 10000;

/** Lines as the server counts them (Python's str.splitlines): blank lines count, as they do
 * in the 行号 of the rejects; a final line break ends the last line rather than adding one. */
function lineCount(text) {
  const parts = text.split(/\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/);
  return parts.length - (parts[parts.length - 1] === '' ? 1 : 0);
}

let plan = null;
let invoiceWhen = null; // 电子发票 以后申请 / 立即申请, chosen with each paste

/**
 * 修改并重新提交: lines already in the payer's other unpaid group order(s) of this plan. The
 * clerk may pay both orders, or cancel the earlier one(s) — and the order this paste just
 * made for the others — and submit the same list again as one order, in one step.
 */
function pendingView(result, sent) {
  const pending = result.pendingOrders;
  const lines = pending.reduce((n, o) => n + o.lines, 0);
  const outside = pending.reduce((n, o) => n + Math.max(o.count - o.lines, 0), 0);
  const replace = [...pending.map((o) => o.no), ...(result.order ? [result.order.no] : [])];
  const button = h('button', { class: 'weui-btn weui-btn_warn', id: 'replace-submit', type: 'button' }, '取消原订单，按本次名单重新提交');
  button.addEventListener('click', async () => {
    const which = pending.map((o) => `订单号 ${o.no}（${o.count} 人，¥${yuan(o.amountFen)}）`).join('、');
    const text = [
      `将取消未支付的原订单：${which}`,
      result.order ? `，以及本次刚生成的订单 ${result.order.no}` : '',
      '，再按本次粘贴的名单重新核对，合并为一笔订单。',
      outside ? `原订单中另有 ${outside} 人不在本次名单中，取消后不再为其购买。` : '',
    ].join('');
    if (!(await confirmDialog(text, '取消原订单并重新提交？', '确定', '再想想'))) return;
    button.disabled = true;
    try {
      const again = await createGroupOrder(planId, sent.text, sent.invoice, replace);
      showResult(again, sent);
      toast('已取消原订单并重新提交');
    } catch (err) {
      if (!err.redirecting) await alertDialog(err.message, '未能重新提交');
      button.disabled = false;
    }
  });
  return h(
    'div',
    { class: 'card pending-orders', id: 'pending-orders' },
    h('div', { class: 'notice' }, `有 ${lines} 行的学员已在您另一笔未支付的团购订单中：`),
    h('ul', { class: 'pending-list' }, pending.map((o) => h('li', {}, `订单号：${o.no}，${o.count} 人，¥${yuan(o.amountFen)}`, o.createdAt ? `，下单时间：${dateText(o.createdAt)}` : ''))),
    h(
      'p',
      { class: 'hint' },
      result.order
        ? `本次已为其余 ${result.acceptedCount} 名学员另下一笔订单。您可以分别支付这两笔订单；也可以取消原订单，按本次名单合并为一笔订单重新提交。`
        : '如本次名单是修改后的完整名单，可取消原订单，按本次名单重新提交。',
      outside ? `原订单中另有 ${outside} 人不在本次名单中。` : '',
    ),
    h('div', { class: 'weui-btn-area' }, button),
  );
}

function showResult(result, sent) {
  $('#result').replaceChildren(...resultView(result, sent));
  $('#result').scrollIntoView({ behavior: 'smooth' });
}

function resultView(result, sent) {
  const parts = [];
  if (result.replaced.length) {
    parts.push(h('div', { class: 'notice', id: 'replaced', role: 'status' }, `已取消原订单：${result.replaced.join('、')}，并按本次名单重新提交。`));
  }
  parts.push(
    h(
      'div',
      { class: result.acceptedCount ? 'notice ok' : 'notice err', id: 'group-summary', role: 'status' },
      result.acceptedCount ? `验证通过 ${result.acceptedCount} 人，应付 ¥${yuan(result.amountFen)}` : '没有可购买的学员，请查看原因后修改并重新提交',
      result.rejects.length ? `；${result.rejects.length} 行未通过` : '',
    ),
  );
  if (result.rejects.length) {
    parts.push(
      h('div', { class: 'weui-cells__title' }, '未通过的行'),
      h(
        'table',
        { class: 'result-table', id: 'rejects' },
        h('thead', {}, h('tr', {}, h('th', {}, '行号'), h('th', {}, '身份证号码'), h('th', {}, '原因'))),
        h('tbody', {}, result.rejects.map((r) => h('tr', {}, h('td', {}, r.line ?? ''), h('td', {}, r.idNumber), h('td', { class: 'reason' }, r.reason)))),
      ),
      result.errorFileUrl ? h('p', { class: 'hint' }, h('a', { href: result.errorFileUrl, download: '', id: 'error-file' }, '下载错误文件')) : null,
    );
  }
  if (result.pendingOrders.length) parts.push(pendingView(result, sent));
  if (result.order && result.acceptedCount) {
    const { no } = result.order;
    const paid = () => {
      $('#pay-area').replaceChildren(
        h('div', { class: 'notice ok', id: 'group-paid', role: 'status' }, `支付成功，${result.acceptedCount} 名学员即可登录进行学习。`, h('a', { href: '/h5/group-orders' }, '查看团购订单')),
      );
      toast('支付成功');
    };
    parts.push(
      h(
        'div',
        { class: 'card', id: 'pay-area' },
        h('div', { class: 'meta' }, `订单号：${no}`),
        h('div', { class: 'meta', id: 'group-invoice' }, result.order.invoice ? `电子发票：${result.order.invoice.title}（立即申请，支付成功后开具）` : '电子发票：以后申请（缴费成功后可在“我的订单”中申请）'),
        // Outside WeChat: the order's QR code, the page turning to 支付成功 by itself.
        inWeChat()
          ? h('div', { class: 'row' }, h('button', { class: 'weui-btn weui-btn_primary', id: 'pay-jsapi', onclick: async () => (await payOrder(no)) && paid() }, '微信支付'))
          : qrPayPanel(no, { onPaid: paid, onClosed: () => $('#pay-area').replaceChildren(h('div', { class: 'notice' }, '订单已关闭，请重新提交')) }),
        h('p', { class: 'hint' }, '如需稍后支付或取消，可在', h('a', { href: `/h5/order?no=${encodeURIComponent(no)}` }, '订单页'), '或“我的订单”中操作。'),
      ),
    );
  }
  return parts;
}

async function submit() {
  const text = $('#ids').value;
  if (!text.trim()) return topTips('请输入需参训学员的身份证号码，每行一个');
  const lines = lineCount(text);
  if (lines > MAX_LINES) return topTips(`一次最多提交 ${MAX_LINES} 行（当前 ${lines} 行），请分批提交`, 6000);
  let invoice;
  try {
    invoice = invoiceWhen.read(); // this paste's own choice: 以后申请 (null) or 立即申请
  } catch (err) {
    return topTips(err.message);
  }
  const button = $('#group-submit');
  button.disabled = true;
  try {
    const result = await createGroupOrder(planId, text, invoice);
    showResult(result, { text, invoice });
  } catch (err) {
    if (!err.redirecting) await alertDialog(err.message, '提交失败');
  } finally {
    button.disabled = false;
  }
}

async function load() {
  if (!planId) throw new Error('缺少培训项目编号，请从项目详情进入团体购买');
  plan = (await planDetail(planId, 1, 1)).plan;
  invoiceWhen = invoiceChoice({ titleType: '单位' }); // a unit's invoice, with its 税号, is the usual one here
  const counter = h('div', { class: 'weui-textarea-counter' }, h('span', { id: 'line-count' }, '0'), ` / ${MAX_LINES} 行`);
  page('团体购买', [
    h('div', { class: 'card' }, h('h3', {}, plan.title), h('div', { class: 'meta' }, `${hours(plan.requiredHours)} 学时　每人 ¥${yuan(plan.priceFen)}`)),
    h('div', { class: 'weui-cells__title' }, '需参训学员的身份证号码'),
    h(
      'div',
      { class: 'weui-cells weui-cells_form' },
      h(
        'div',
        { class: 'weui-cell' },
        h(
          'div',
          { class: 'weui-cell__bd' },
          h('textarea', {
            class: 'weui-textarea id-input',
            id: 'ids',
            rows: 8,
            placeholder: '每行一个身份证号码',
            'aria-label': '身份证号码',
            oninput: (e) => {
              const lines = lineCount(e.target.value);
              $('#line-count').textContent = String(lines);
              counter.classList.toggle('over', lines > MAX_LINES);
            },
          }),
          counter,
        ),
      ),
    ),
    h('div', { class: 'weui-cells__tips advice' }, '注意事项：', ADVICE),
    registrationHint(),
    invoiceWhen.node,
    h('div', { class: 'weui-btn-area' }, h('button', { class: 'weui-btn weui-btn_primary', id: 'group-submit', onclick: submit }, '立即购买')),
    h('p', { class: 'hint' }, '提交后系统逐行验证：学员账号存在且未购买对应学习计划，即可提交订单；购买成功，学员即可登录进行学习。如有未通过的行，可点击“下载错误文件”查看原因，修改后重新提交。选择“以后申请”发票的，缴费成功后可在“我的订单”中申请开票。', h('a', { href: '/h5/group-orders', id: 'group-orders-link' }, '查看团购订单')),
    h('div', { id: 'result' }),
  ]);
}

boot('团体购买', load);
