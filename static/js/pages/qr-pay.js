// 扫码支付 outside WeChat (a phone's or a PC's browser): the order's WeChat Pay Native QR code,
// and the order asked every few seconds until it is paid. Used by the order page (个人 and 团购
// orders) and by 团体购买 after its check, so there is one way to pay by QR.
import { getOrder, nativePay } from '../api/orders.js';
import { h } from '../core/ui.js';

const POLL_MS = 2000;

/**
 * The QR panel of unpaid order `no`. `onPaid(order)` runs once when the order reads paid;
 * `onClosed(order)` when it was closed (cancelled or expired) meanwhile. The polling stops by
 * itself then, or when the panel leaves the page.
 */
export function qrPayPanel(no, { onPaid = () => {}, onClosed = () => {} } = {}) {
  const slot = h('div', { class: 'qr-slot', id: 'native-slot' }, h('div', { class: 'weui-loadmore' }, h('i', { class: 'weui-loading' }), h('span', { class: 'weui-loadmore__tips' }, '正在生成支付二维码')));
  const panel = h('div', { class: 'qr-pay', id: 'qr-pay' }, slot);
  show(no, slot).then((ok) => ok && watch(no, panel, onPaid, onClosed));
  return panel;
}

async function show(no, slot) {
  try {
    const native = await nativePay(no);
    slot.replaceChildren(
      h('img', { class: 'qr', src: native.qrcodeUrl, alt: '微信扫码支付', id: 'pay-qr' }),
      h('p', { class: 'hint center' }, '请使用微信“扫一扫”扫描二维码完成支付，支付后本页自动更新'),
      native.sandboxScanUrl ? h('p', { class: 'hint center' }, h('a', { href: native.sandboxScanUrl, target: '_blank', rel: 'noopener', id: 'sandbox-scan' }, '沙箱：模拟扫码')) : null,
    );
    return true;
  } catch (err) {
    if (!err.redirecting) slot.replaceChildren(h('div', { class: 'notice err', role: 'alert' }, err.message));
    return false;
  }
}

function watch(no, panel, onPaid, onClosed) {
  const tick = async () => {
    if (!panel.isConnected) return; // the page moved on
    try {
      const order = await getOrder(no, { loading: false });
      if (order.status === 'SUCCESS') return onPaid(order);
      if (order.status !== 'NOTPAY') return onClosed(order);
    } catch (err) {
      if (err.redirecting) return;
      // A network hiccup: keep asking.
    }
    setTimeout(tick, POLL_MS);
  };
  setTimeout(tick, POLL_MS);
}
