// Small WeUI helpers shared by every page: building DOM safely, toasts, dialogs, errors,
// money and 学时 formatting. Text from the server is always inserted as text, never as HTML.

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'style' && typeof value === 'object') Object.assign(node.style, value);
    else if (key.startsWith('on') && typeof value === 'function') {
      node.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (value === true) node.setAttribute(key, '');
    else node.setAttribute(key, String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export const $ = (selector, root = document) => root.querySelector(selector);

export function mount(root, ...children) {
  root.replaceChildren();
  append(root, children);
  return root;
}

export const params = () => new URLSearchParams(window.location.search);
export const currentPath = () => window.location.pathname + window.location.search;
export const inWeChat = () => /MicroMessenger/i.test(navigator.userAgent);

/** 分 (integer) → "90.00" 元, without floating-point rounding. */
export function yuan(fen) {
  const n = Math.round(Number(fen) || 0);
  const sign = n < 0 ? '-' : '';
  const abs = Math.abs(n);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** 学时 as people write them: 2 not 2.0, 1.5 stays 1.5. */
export function hours(value) {
  const n = Number(value) || 0;
  return String(Math.round(n * 10) / 10);
}

export function percentText(value) {
  const n = Math.max(0, Math.min(100, Number(value) || 0));
  return `${Math.floor(n)}%`;
}

export function dateText(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  // Shown in China time whatever the phone's zone.
  return d.toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false });
}

export function progressBar(percent, label) {
  const p = Math.max(0, Math.min(100, Number(percent) || 0));
  return h(
    'div',
    { class: 'weui-progress', role: 'progressbar', 'aria-valuenow': Math.floor(p), 'aria-label': label },
    h('div', { class: 'weui-progress__bar' }, h('div', { class: 'weui-progress__inner-bar', style: { width: `${p}%` } })),
    h('span', { class: 'progress-text' }, percentText(p)),
  );
}

// --- loading toast: shown only when a call is slow, one toast for overlapping calls ---
let loadingCount = 0;
let loadingNode = null;

export function startLoading(text = '加载中') {
  loadingCount += 1;
  if (!loadingNode) {
    loadingNode = h(
      'div',
      { class: 'weui-toast__wrp', role: 'alert', id: 'loadingToast' },
      h('div', { class: 'weui-mask_transparent' }),
      h(
        'div',
        { class: 'weui-toast' },
        h('span', { class: 'weui-primary-loading weui-icon_toast' }, h('span', { class: 'weui-primary-loading__dot' })),
        h('p', { class: 'weui-toast__content' }, text),
      ),
    );
    document.body.append(loadingNode);
  }
}

export function stopLoading() {
  loadingCount = Math.max(0, loadingCount - 1);
  if (loadingCount === 0 && loadingNode) {
    loadingNode.remove();
    loadingNode = null;
  }
}

export function toast(text, { icon = true, ms = 1600 } = {}) {
  const node = h(
    'div',
    { class: 'weui-toast__wrp', role: 'alert' },
    h('div', { class: 'weui-mask_transparent' }),
    h(
      'div',
      { class: icon ? 'weui-toast' : 'weui-toast weui-toast_text' },
      icon ? h('i', { class: 'weui-icon-success-no-circle weui-icon_toast' }) : null,
      h('p', { class: 'weui-toast__content' }, text),
    ),
  );
  document.body.append(node);
  setTimeout(() => node.remove(), ms);
}

/** A red bar at the top for form mistakes (WeUI toptips). */
export function topTips(text, ms = 3000) {
  document.querySelectorAll('.weui-toptips').forEach((n) => n.remove());
  const node = h('div', { class: 'weui-toptips weui-toptips_warn', role: 'alert', style: { display: 'block' } }, text);
  document.body.append(node);
  setTimeout(() => node.remove(), ms);
}

/** A WeUI dialog; resolves with the index of the button pressed. */
export function dialog({ title = '', text = '', buttons = ['知道了'] } = {}) {
  return new Promise((resolve) => {
    const close = (i) => {
      wrap.remove();
      resolve(i);
    };
    const wrap = h(
      'div',
      { class: 'js_dialog dialog', role: 'dialog', 'aria-modal': 'true' },
      h('div', { class: 'weui-mask' }),
      h(
        'div',
        { class: 'weui-dialog' },
        title ? h('div', { class: 'weui-dialog__hd' }, h('strong', { class: 'weui-dialog__title' }, title)) : null,
        h('div', { class: 'weui-dialog__bd' }, text),
        h(
          'div',
          { class: 'weui-dialog__ft' },
          buttons.map((label, i) =>
            h(
              'a',
              {
                role: 'button',
                class: i === buttons.length - 1 ? 'weui-dialog__btn weui-dialog__btn_primary' : 'weui-dialog__btn weui-dialog__btn_default',
                onclick: (e) => {
                  e.preventDefault();
                  close(i);
                },
              },
              label,
            ),
          ),
        ),
      ),
    );
    document.body.append(wrap);
  });
}

export const alertDialog = (text, title = '') => dialog({ title, text });
export const confirmDialog = async (text, title = '', ok = '确定', cancel = '取消') =>
  (await dialog({ title, text, buttons: [cancel, ok] })) === 1;

/**
 * A page-sized error message (WeUI msg). `retry` gives a 重试 button (worth pressing after a
 * network or server failure); `home` a 返回首页 link instead (a missing plan, course or order
 * is not found by trying again).
 */
export function errorBlock(err, retry, { home = false } = {}) {
  const message = (err && err.message) || '加载失败，请稍后再试';
  const action = retry
    ? h('a', { role: 'button', class: 'weui-btn weui-btn_default', id: 'error-retry', onclick: retry }, '重试')
    : home
      ? h('a', { class: 'weui-btn weui-btn_default', id: 'error-home', href: '/h5/plans' }, '返回首页')
      : null;
  return h(
    'div',
    { class: 'weui-msg page-error', role: 'alert' },
    h('div', { class: 'weui-msg__icon-area' }, h('i', { class: 'weui-icon-warn weui-icon_msg' })),
    h('div', { class: 'weui-msg__text-area' }, h('h2', { class: 'weui-msg__title' }, '出错了'), h('p', { class: 'weui-msg__desc error-message' }, message)),
    action ? h('div', { class: 'weui-msg__opr-area' }, h('p', { class: 'weui-btn-area' }, action)) : null,
  );
}

/** Whether trying again may help: no connection, the server failing, or asked to slow down.
 *  Any other refusal (4xx) or the page's own check (no status) answers the same next time. */
export function retryable(err) {
  const status = err && err.status;
  return typeof status === 'number' && (status === 0 || status >= 500 || status === 408 || status === 429);
}

export function emptyBlock(text) {
  return h('p', { class: 'empty-block' }, text);
}

const TABS = [
  ['/h5/plans', '培训项目'],
  ['/h5/progress', '我的进度'],
  ['/h5/certificates', '我的证书'],
  ['/h5/orders', '我的订单'],
  ['/h5/profile', '个人信息'],
];

/** The bottom navigation of the trainee's main pages (`active` null: none is current). */
export function tabbar(active) {
  return h(
    'nav',
    { class: 'weui-tabbar app-tabbar' },
    TABS.map(([href, label]) =>
      h('a', { href, class: href === active ? 'weui-tabbar__item weui-bar__item_on' : 'weui-tabbar__item' }, h('p', { class: 'weui-tabbar__label' }, label)),
    ),
  );
}

/** Render a page body: a title, content, and the tab bar when asked (`tab` the current one). */
export function page(title, content, { tab, tabs = Boolean(tab) } = {}) {
  document.title = title;
  const root = document.getElementById('app');
  mount(root, h('div', { class: tabs ? 'page with-tabbar' : 'page' }, content), tabs ? tabbar(tab) : null);
  root.dataset.ready = '1';
  return root;
}

/** Run a page's loader, showing a Chinese error instead of a blank page: with 重试 when
 *  trying again may help, else with 返回首页 and the tab bar, so the page is no dead end. */
export async function boot(title, load, opts = {}) {
  try {
    await load();
  } catch (err) {
    if (err && err.redirecting) return;
    if (retryable(err)) page(title, errorBlock(err, () => boot(title, load, opts)), opts);
    else page(title, errorBlock(err, null, { home: true }), { ...opts, tabs: true });
  }
}
