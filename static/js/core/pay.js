// WeChat Pay inside the page: WeixinJSBridge's getBrandWCPayRequest. In WeChat the bridge
// is the client's own; elsewhere, and in the sandbox when a browser only claims to be
// WeChat (its user agent) and no bridge comes, the sandbox shim (wx-sandbox-bridge.js) plays
// it by opening the sandbox cashier. Resolves 'ok', 'cancel' or 'fail' (the callback's
// err_msg suffix).

import { inWeChat } from './ui.js';

const SHIM = '/static/js/wx-sandbox-bridge.js';

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = resolve;
    s.onerror = reject;
    document.head.append(s);
  });
}

export async function bridge({ sandbox = false } = {}) {
  if (window.WeixinJSBridge) return window.WeixinJSBridge;
  if (inWeChat()) {
    await new Promise((resolve) => {
      document.addEventListener('WeixinJSBridgeReady', resolve, { once: true });
      setTimeout(resolve, sandbox ? 300 : 3000);
    });
  }
  if (!window.WeixinJSBridge && (sandbox || !inWeChat())) {
    try {
      await loadScript(SHIM);
    } catch {
      /* no shim outside the sandbox */
    }
  }
  if (!window.WeixinJSBridge) throw new Error('无法调起微信支付，请在微信中打开本页面');
  return window.WeixinJSBridge;
}

export async function wechatPay(params, { sandbox = false } = {}) {
  const jsBridge = await bridge({ sandbox });
  return new Promise((resolve) => {
    jsBridge.invoke('getBrandWCPayRequest', params, (res) => {
      const msg = String((res && res.err_msg) || '');
      if (msg.endsWith(':ok')) resolve('ok');
      else if (msg.endsWith(':cancel')) resolve('cancel');
      else resolve('fail');
    });
  });
}
