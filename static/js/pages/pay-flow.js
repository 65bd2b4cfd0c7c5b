// Paying an order inside the page: get the JSAPI parameters, let WeixinJSBridge (or the
// sandbox cashier) take the money, then wait for the order to read SUCCESS.
import { cancelOrder, enrolledMembers, getOrder, payParams } from '../api/orders.js';
import { wechatPay } from '../core/pay.js';
import { alertDialog, confirmDialog, h, inWeChat, startLoading, stopLoading, toast } from '../core/ui.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resolves true when the order is paid; tells the trainee what happened otherwise. */
export async function payOrder(no) {
  let result;
  try {
    const { params, sandbox } = await payParams(no);
    result = await wechatPay(params, { sandbox });
  } catch (err) {
    if (err.code === 'wechat_not_bound' && inWeChat()) return bindThenPay(no, err.message);
    if (err.code === 'members_enrolled') {
      await alertDialog(enrolledMembersBlock(err), '支付未完成');
      return false;
    }
    if (!err.redirecting) await alertDialog(err.message || '无法发起支付，请稍后再试', '支付未完成');
    return false;
  }
  if (result === 'cancel') {
    await alertDialog('您已取消支付。订单已保留，可在“我的订单”中继续支付。', '支付已取消');
    return false;
  }
  if (result === 'fail') {
    await alertDialog('支付失败，请稍后重试；如已扣款，请勿重复支付，稍后在“我的订单”中查看。', '支付失败');
    return false;
  }
  return waitPaid(no);
}

/** Logged in with the password inside WeChat and never bound: WeChat Pay needs this WeChat
 *  user's openid. 网页授权 gets it and, the account not being bound, leads to 绑定 (the
 *  password again), then back to the order's page to pay. */
async function bindThenPay(no, message) {
  await alertDialog(message, '请先绑定微信');
  const back = `/h5/order?no=${encodeURIComponent(no)}`;
  window.location.assign(`/auth/wechat?next=${encodeURIComponent(back)}`);
  return false;
}

/** WeChat's notification may arrive a moment after the cashier closes: ask a few times. */
export async function waitPaid(no, tries = 20) {
  startLoading('确认支付结果');
  try {
    for (let i = 0; i < tries; i += 1) {
      try {
        const order = await getOrder(no, { loading: false });
        if (order.status === 'SUCCESS') return true;
        if (order.status === 'CLOSED' || order.status === 'PAYERROR') break;
      } catch (err) {
        if (err.redirecting) return false;
      }
      await sleep(1000);
    }
  } finally {
    stopLoading();
  }
  await alertDialog('暂未查询到支付结果，请稍后在“我的订单”中查看。', '支付结果确认中');
  return false;
}

/** 取消订单 after the trainee confirms; resolves true when the page should reload (the
 *  order was cancelled, or the refusal was shown: it may have been paid meanwhile). */
export async function cancelAfterConfirm(no) {
  if (!(await confirmDialog('取消后该订单将无法支付，如需购买请重新下单。', '确定取消订单？', '取消订单', '再想想'))) return false;
  try {
    await cancelOrder(no);
    toast('订单已取消');
  } catch (err) {
    if (err.redirecting) return false;
    await alertDialog(err.message, '无法取消订单');
  }
  return true;
}

/** A group order refused because some members bought the plan meanwhile (409
 *  members_enrolled): who they are, masked as 团购订单 shows an unpaid order's members, so the
 *  payer knows whom to leave out of the list submitted again. */
export function enrolledMembersBlock(err) {
  const members = enrolledMembers(err);
  if (!members.length) return err.message;
  return h(
    'div',
    { class: 'enrolled-members', id: 'enrolled-members' },
    h('p', {}, `订单中有 ${members.length} 名学员已购买该培训项目，请取消本订单后重新提交团购名单（不含以下学员）：`),
    h(
      'table',
      { class: 'result-table' },
      h('thead', {}, h('tr', {}, h('th', {}, '姓名'), h('th', {}, '身份证号码'))),
      h('tbody', {}, members.map((m) => h('tr', {}, h('td', {}, m.name), h('td', {}, m.idNumber)))),
    ),
  );
}
