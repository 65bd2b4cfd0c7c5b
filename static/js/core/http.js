// The one way pages talk to the JSON API: same-origin fetch with the session cookie, a
// loading toast when a call is slow, errors as ApiError carrying the server's Chinese
// `message`, and the two redirects every page needs (401 → login, 403 first login → 激活账号).

import { currentPath, inWeChat, startLoading, stopLoading } from './ui.js';

const SLOW_MS = 400;

const STATUS_MESSAGES = {
  0: '网络连接失败，请检查网络后重试',
  400: '请求有误',
  401: '请先登录',
  403: '没有权限',
  404: '请求的内容不存在',
  409: '当前状态不允许该操作',
  413: '提交的内容过大',
  422: '填写的内容有误',
  429: '操作过于频繁，请稍后再试',
};

export class ApiError extends Error {
  constructor(status, body) {
    const data = body && typeof body === 'object' ? body : {};
    const fallback = STATUS_MESSAGES[status] || (status >= 500 ? '系统繁忙，请稍后再试' : '请求失败，请稍后再试');
    super(typeof data.message === 'string' && data.message ? data.message : fallback);
    this.name = 'ApiError';
    this.status = status;
    this.code = data.error || `http_${status}`;
    this.field = data.field;
    this.body = data;
    this.redirecting = false;
  }
}

export function loginUrl(next = currentPath()) {
  // Inside WeChat the account is found through 网页授权; elsewhere by password.
  return inWeChat() ? `/auth/wechat?next=${encodeURIComponent(next)}` : `/h5/login?next=${encodeURIComponent(next)}`;
}

/** A session opened with a roster account's initial password reaches only 激活账号. */
export function activationUrl(next = currentPath()) {
  return `/h5/activate?next=${encodeURIComponent(next)}`;
}

function withQuery(path, query) {
  if (!query) return path;
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') p.set(k, v);
  const s = p.toString();
  return s ? `${path}${path.includes('?') ? '&' : '?'}${s}` : path;
}

/**
 * Call the API. Options: body (JSON), query, loading (toast when slow, default true),
 * auth ('redirect' sends 401/password-change to the right page; 'raise' only throws).
 */
export async function request(method, path, { body, query, loading = true, auth = 'redirect' } = {}) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let shown = false;
  const timer = loading
    ? setTimeout(() => {
        shown = true;
        startLoading();
      }, SLOW_MS)
    : null;
  let res;
  let text = '';
  try {
    res = await fetch(withQuery(path, query), init);
    text = await res.text();
  } catch {
    throw new ApiError(0, null);
  } finally {
    if (timer) clearTimeout(timer);
    if (shown) stopLoading();
  }
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data);
    if (auth === 'redirect' && res.status === 401) {
      err.redirecting = true;
      window.location.assign(loginUrl());
    } else if (auth === 'redirect' && res.status === 403 && err.code === 'activation_required') {
      err.redirecting = true;
      window.location.assign(activationUrl());
    }
    throw err;
  }
  if (text && data === null) throw new ApiError(res.status >= 500 ? res.status : 502, { message: '服务器返回了无法识别的内容，请稍后再试' });
  return data ?? {};
}

export const get = (path, opts) => request('GET', path, opts);
export const post = (path, body, opts) => request('POST', path, { ...opts, body: body ?? {} });
export const put = (path, body, opts) => request('PUT', path, { ...opts, body: body ?? {} });
export const patch = (path, body, opts) => request('PATCH', path, { ...opts, body: body ?? {} });

/** Whether the API has a route at all (a 404 with no JSON error body means "not built"). */
export function isMissingRoute(err) {
  return err instanceof ApiError && err.status === 404 && (!err.body || !err.body.error || err.body.error === 'not_found');
}
