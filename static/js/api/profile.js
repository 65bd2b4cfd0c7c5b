// 个人信息 for the certificate: the unit (单位) chosen from the list, or the 区县 where the
// personnel file is kept when the unit is not listed.
import { get, patch } from '../core/http.js';
import { list, pick } from './normalize.js';

export const updateProfile = (changes) => patch('/api/me/profile', changes);

export async function searchUnits(q, district) {
  const raw = await get('/api/units', { query: { q, district, limit: 20 }, loading: false });
  return list(pick(raw, ['items', 'units'], [])).map((u) => ({ id: pick(u, ['id']), name: pick(u, ['name'], ''), district: pick(u, ['district'], '') }));
}

export async function districts() {
  return list(pick(await get('/api/districts'), ['items', 'districts'], [])).map((d) => (typeof d === 'string' ? d : pick(d, ['name'], '')));
}
