// Activation of a roster account and 忘记密码: SMS codes, then a new password.
import { get, post } from '../core/http.js';
import { pick } from './normalize.js';

/** A sent code: { phoneTail, phoneMasked, resendAfterS, expiresInS }. */
function sentCode(raw) {
  return {
    phoneTail: String(pick(raw, ['phone_tail'], '')),
    phoneMasked: String(pick(raw, ['phone_masked'], '')),
    resendAfterS: Number(pick(raw, ['resend_after_s'], 60)) || 60,
    expiresInS: Number(pick(raw, ['expires_in_s'], 300)) || 300,
  };
}

/** The session's activation step: { phoneMasked } (null without a roster phone). */
export async function activationStatus() {
  const raw = await get('/api/activation', { auth: 'raise' });
  return { phoneMasked: pick(raw, ['phone_masked'], null) };
}

export const sendActivationCode = async () => sentCode(await post('/api/activation/code', {}, { auth: 'raise' }));

/** Activate with the code and a new password; the full profile. */
export const activate = (smsCode, newPassword) => post('/api/activation', { sms_code: smsCode, new_password: newPassword }, { auth: 'raise' });

export const sendResetCode = async (username) => sentCode(await post('/api/password/forgot/code', { username }, { auth: 'raise' }));

export const resetPassword = (username, smsCode, newPassword) =>
  post('/api/password/forgot', { username, sms_code: smsCode, new_password: newPassword }, { auth: 'raise' });
