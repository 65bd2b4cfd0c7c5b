// 个人信息: the unit (单位) chosen from the list, or the 区县 where the personnel file is kept
// when the unit is not listed; the phone (SMS code to the new phone); the change history.
// Name and ID number are not changed here: only the unit or customer service corrects them.
import { get, patch, post } from '../core/http.js';
import { list, pick } from './normalize.js';

export const updateProfile = (changes) => patch('/api/me/profile', changes);

export async function searchUnits(q, district) {
  const raw = await get('/api/units', { query: { q, district, limit: 20 }, loading: false });
  return list(pick(raw, ['items', 'units'], [])).map((u) => ({ id: pick(u, ['id']), name: pick(u, ['name'], ''), district: pick(u, ['district'], '') }));
}

export async function districts() {
  return list(pick(await get('/api/districts'), ['items', 'districts'], [])).map((d) => (typeof d === 'string' ? d : pick(d, ['name'], '')));
}

/** 获取验证码 for a new phone (sent to that phone): { phoneTail, phoneMasked, resendAfterS, expiresInS }. */
export async function sendPhoneCode(phone) {
  const raw = await post('/api/me/phone/code', { phone });
  return {
    phoneTail: pick(raw, ['phone_tail'], String(phone).slice(-4)),
    phoneMasked: pick(raw, ['phone_masked'], ''),
    resendAfterS: Number(pick(raw, ['resend_after_s'], 60)) || 60,
    expiresInS: Number(pick(raw, ['expires_in_s'], 300)) || 300,
  };
}

export const changePhone = (phone, smsCode, password) => post('/api/me/phone', { phone, sms_code: smsCode, password });

/** The trainee's own changes, newest first: { field, old, new, reason, by, changedAt }. */
export async function myChanges() {
  const raw = await get('/api/me/profile/changes');
  return list(pick(raw, ['items'], [])).map((c) => ({
    field: pick(c, ['field'], ''),
    old: pick(c, ['old'], null),
    new: pick(c, ['new'], null),
    reason: pick(c, ['reason'], null),
    by: pick(c, ['by'], ''),
    changedAt: pick(c, ['changed_at'], ''),
  }));
}
