// 项目详情 / 课程列表: 计划完成度 at the top, the plan's courses paged (切换页码 on a PC,
// scrolling on the phone), and 立即购买 → order → WeChat Pay (JSAPI inside WeChat, else the
// order page's 扫码支付) → the paid state. 团体购买 stays offered once the plan is the
// trainee's own: a unit's designated person buys for colleagues with a personal account.
import { planDetail } from '../api/catalogue.js';
import { createOrder } from '../api/orders.js';
import { myProgress } from '../api/progress.js';
import { $, alertDialog, boot, emptyBlock, h, hours, inWeChat, page, params, progressBar, topTips, yuan } from '../core/ui.js';
import { invoiceChoice } from './invoice-form.js';
import { payOrder } from './pay-flow.js';

const PER_PAGE = 10;
const planId = params().get('id');
const isPC = () => window.matchMedia('(min-width: 768px)').matches;

let state = null; // {plan, mine, courseState: Map, total, notice}

function courseCell(course) {
  const s = state.courseState.get(String(course.id));
  const tag = !state.mine ? null : s?.done ? h('span', { class: 'tag' }, '已学完') : s?.started ? h('span', { class: 'tag blue' }, '学习中') : h('span', { class: 'tag gray' }, '未学习');
  return h(
    'a',
    { class: 'weui-cell weui-cell_access course-item', href: `/h5/course?id=${course.id}&plan=${planId}`, dataset: { courseId: course.id } },
    h(
      'div',
      { class: 'weui-cell__bd' },
      h('p', { class: 'course-title' }, course.title),
      h('p', { class: 'meta course-meta' }, tag, [course.category, course.teacher].filter(Boolean).join(' · ')),
    ),
    h('div', { class: 'weui-cell__ft' }, `${hours(course.hours)} 学时`),
  );
}

function header() {
  const { plan, mine } = state;
  return h(
    'div',
    { class: 'card plan-head' },
    h('h3', {}, plan.title),
    h('div', { class: 'meta' }, h('span', { class: 'tag' }, plan.kindName), mine ? h('span', { class: 'tag blue' }, '已购买') : null, `${plan.year} 年度`),
    h('div', { class: 'meta' }, `学分要求：${hours(plan.requiredHours)} 学时　课程共 ${state.total} 门（${hours(plan.hoursOnOffer)} 学时），可根据自身需要选择学习`),
    mine
      ? h(
          'div',
          { class: 'plan-progress' },
          h('div', { class: 'meta' }, `计划完成度：已学 ${hours(mine.hoursDone)} / ${hours(plan.requiredHours)} 学时`),
          progressBar(mine.percent, '计划完成度'),
          mine.done ? h('div', { class: 'meta' }, '已达到培训项目要求的学分，可在“我的证书”中打印证书') : null,
          plan.onSale ? h('div', { class: 'row' }, h('span', { class: 'meta' }, '为单位同事购买本项目'), groupLink('weui-btn weui-btn_mini weui-btn_default')) : null,
        )
      : h('div', { class: 'row' }, h('span', { class: 'price' }, `¥${yuan(plan.priceFen)}`, h('small', {}, ` （${yuan(plan.pricePerHourFen)} 元/学时 × ${hours(plan.requiredHours)} 学时）`))),
  );
}

const groupLink = (cls) => h('a', { class: cls, id: 'group-buy', href: `/h5/group?plan=${state.plan.id}` }, '团体购买');

function buyBar() {
  const { plan } = state;
  return h(
    'div',
    { class: 'sticky-actions' },
    groupLink('weui-btn weui-btn_default'),
    h('button', { class: 'weui-btn weui-btn_primary', id: 'buy', disabled: !plan.onSale, onclick: openCheckout }, plan.onSale ? '立即购买' : '不在销售期'),
  );
}

/** 确认订单: the amount, 发票 立即申请 / 以后申请, then 提交订单 and pay. */
function openCheckout() {
  const { plan } = state;
  const invoice = invoiceChoice();
  const close = () => sheet.remove();
  const submit = h('button', { class: 'weui-btn weui-btn_primary', id: 'submit-order' }, '提交订单并支付');
  const cancel = h('button', { type: 'button', class: 'weui-btn weui-btn_default', id: 'cancel-checkout', onclick: close }, '取消');
  const sheet = h(
    'div',
    { class: 'checkout', role: 'dialog', 'aria-label': '确认订单' },
    h('div', { class: 'weui-mask', onclick: close }),
    h(
      'div',
      { class: 'weui-half-screen-dialog', style: { maxHeight: '88vh' } },
      h('div', { class: 'weui-half-screen-dialog__hd' }, h('div', { class: 'weui-half-screen-dialog__hd__main' }, h('strong', { class: 'weui-half-screen-dialog__title' }, '确认订单'))),
      h(
        'div',
        { class: 'weui-half-screen-dialog__bd' },
        h('div', { class: 'meta' }, plan.title),
        h('div', { class: 'meta' }, `${hours(plan.requiredHours)} 学时 × ${yuan(plan.pricePerHourFen)} 元/学时`),
        h('p', { class: 'price' }, `应付 ¥${yuan(plan.priceFen)}`),
        invoice.node,
      ),
      h('div', { class: 'weui-half-screen-dialog__ft row' }, cancel, submit),
    ),
  );
  submit.addEventListener('click', async () => {
    let invoiceBody;
    try {
      invoiceBody = invoice.read();
    } catch (err) {
      return topTips(err.message);
    }
    submit.disabled = true;
    try {
      const order = await createOrder(plan.id, invoiceBody);
      close();
      if (!inWeChat()) {
        // A phone's or a PC's browser: 扫码支付 on the order page, which turns to 已支付 by itself.
        window.location.assign(`/h5/order?no=${encodeURIComponent(order.no)}`);
        return;
      }
      if (await payOrder(order.no)) {
        state.notice = '支付成功，现在可以开始学习了';
        await load();
      }
    } catch (err) {
      if (!err.redirecting) await alertDialog(err.message, '无法提交订单');
    } finally {
      submit.disabled = false;
    }
  });
  document.body.append(sheet);
}

function pager(list, current) {
  const pages = Math.max(1, Math.ceil(state.total / PER_PAGE));
  const go = (n) => renderPage(list, n);
  const button = (label, n, attrs = {}) => h('button', { type: 'button', onclick: () => go(n), ...attrs }, label);
  const numbers = [];
  for (let n = 1; n <= pages; n += 1) {
    if (n === 1 || n === pages || Math.abs(n - current) <= 2) numbers.push(button(String(n), n, { 'aria-current': n === current ? 'page' : null }));
    else if (numbers[numbers.length - 1]?.textContent !== '…') numbers.push(h('span', {}, '…'));
  }
  return h('nav', { class: 'pager', 'aria-label': '切换页码' }, button('上一页', current - 1, { disabled: current <= 1 }), numbers, button('下一页', current + 1, { disabled: current >= pages }));
}

/** PC: one page at a time with 切换页码. */
async function renderPage(list, n) {
  const data = await planDetail(planId, n, PER_PAGE);
  state.total = data.total;
  list.replaceChildren(...(data.courses.length ? data.courses.map(courseCell) : [emptyBlock('暂无课程')]));
  $('#pager-slot')?.replaceChildren(pager(list, n));
}

/** Phone: the next page loads as the list scrolls to its end. */
function infinite(list, first) {
  let next = 2;
  let loading = false;
  const sentinel = h('div', { class: 'weui-loadmore', id: 'more' }, h('span', { class: 'weui-loadmore__tips' }, '上滑加载更多'));
  list.after(sentinel);
  list.append(...first.map(courseCell));
  const done = () => sentinel.replaceChildren(h('span', { class: 'weui-loadmore__tips' }, '没有更多课程了'));
  if (list.children.length >= state.total) return done();
  const observer = new IntersectionObserver(async (entries) => {
    if (!entries.some((e) => e.isIntersecting) || loading) return;
    loading = true;
    sentinel.replaceChildren(h('i', { class: 'weui-loading' }), h('span', { class: 'weui-loadmore__tips' }, '正在加载'));
    try {
      const data = await planDetail(planId, next, PER_PAGE);
      next += 1;
      list.append(...data.courses.map(courseCell));
      if (!data.courses.length || list.children.length >= state.total) {
        observer.disconnect();
        done();
      } else sentinel.replaceChildren(h('span', { class: 'weui-loadmore__tips' }, '上滑加载更多'));
    } catch (err) {
      sentinel.replaceChildren(h('span', { class: 'weui-loadmore__tips' }, err.message));
    } finally {
      loading = false;
    }
  });
  observer.observe(sentinel);
}

async function load() {
  if (!planId) throw new Error('缺少培训项目编号，请从培训项目列表进入');
  const first = await planDetail(planId, 1, PER_PAGE);
  const progress = await myProgress(first.plan.year, { tolerateMissing: true });
  const mine = progress.plans.find((p) => String(p.id) === String(first.plan.id)) || null;
  const courseState = new Map((mine?.courses || []).map((c) => [String(c.id), c]));
  const notice = state?.notice;
  state = { plan: first.plan, mine, courseState, total: first.total, notice: null };
  const list = h('div', { class: 'weui-cells course-list', id: 'courses' });
  page(
    first.plan.title,
    [
      notice ? h('div', { class: 'notice ok', role: 'status', id: 'paid-notice' }, notice) : null,
      header(),
      h('div', { class: 'weui-cells__title' }, mine ? '课程列表（点击课程进入学习，一个课程有多个章节，需学习完每个章节才可获得学分）' : '课程列表'),
      list,
      h('div', { id: 'pager-slot' }),
      mine ? null : buyBar(),
    ],
    { tab: mine ? '/h5/plans' : undefined },
  );
  if (isPC()) {
    list.append(...first.courses.map(courseCell));
    $('#pager-slot').replaceChildren(pager(list, 1));
  } else infinite(list, first.courses);
}

boot('项目详情', load);
