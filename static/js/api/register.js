// 自主注册 calls: the SMS code to the phone being registered, the registration, and the unit
// chooser and 区县 list (public: the trainee has no session yet).
import { get, post } from '../core/http.js';
import { list, pick } from './normalize.js';

/** 获取验证码: { phoneTail, phoneMasked, resendAfterS, expiresInS }. */
export async function sendRegisterCode(phone) {
  const raw = await post('/api/register/code', { phone }, { auth: 'raise' });
  return {
    phoneTail: pick(raw, ['phone_tail'], String(phone).slice(-4)),
    phoneMasked: pick(raw, ['phone_masked'], ''),
    resendAfterS: Number(pick(raw, ['resend_after_s'], 60)) || 60,
    expiresInS: Number(pick(raw, ['expires_in_s'], 300)) || 300,
  };
}

/** The new account's profile, with wechatBound / wechatBoundElsewhere. */
export async function register(fields) {
  const raw = await post('/api/register', fields, { auth: 'raise' });
  return { ...raw, wechatBound: Boolean(pick(raw, ['wechat_bound'], false)), wechatBoundElsewhere: Boolean(pick(raw, ['wechat_bound_elsewhere'], false)) };
}

export async function searchUnitsPublic(q) {
  const raw = await get('/api/register/units', { query: { q, limit: 20 }, loading: false, auth: 'raise' });
  return list(pick(raw, ['items'], [])).map((u) => ({ id: pick(u, ['id']), name: pick(u, ['name'], ''), district: pick(u, ['district'], '') }));
}

export async function districtsPublic() {
  return list(pick(await get('/api/register/districts', { auth: 'raise' }), ['items'], [])).map((d) => (typeof d === 'string' ? d : pick(d, ['name'], '')));
}
