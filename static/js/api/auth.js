// Account calls: password login and logout, the password change, binding WeChat after 网页授权
// and unbinding it.
import { get, post } from '../core/http.js';

export const login = (username, password) => post('/api/login', { username, password }, { auth: 'raise' });
export const bind = (username, password, smsCode) =>
  post('/api/wechat/bind', smsCode ? { username, password, sms_code: smsCode } : { username, password }, { auth: 'raise' });
// 改绑 (the account is bound to another WeChat user): the code to the account's phone.
export const sendRebindCode = (username, password) => post('/api/wechat/bind/sms', { username, password }, { auth: 'raise' });
export const changePassword = (oldPassword, newPassword) =>
  post('/api/me/password', { old_password: oldPassword, new_password: newPassword }, { auth: 'raise' });
export const me = (opts) => get('/api/me', opts);
export const logout = () => post('/api/logout', {}, { auth: 'raise' });
// 解除微信绑定: { wasBound }; every session of the account ends, this browser gets a new one.
export async function unbindWechat() {
  const raw = await post('/api/me/wechat/unbind', {});
  return { wasBound: Boolean(raw.was_bound) };
}

export const mustChange = (profile) => Boolean(profile && (profile.must_change_password || profile.password_change_required));
