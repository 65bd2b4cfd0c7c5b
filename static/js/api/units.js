// The unit page's calls: which unit I administer, its 应训未训 list (filters, counts), the
// download link carrying the same filters, and 一键提醒.
import { get, post } from '../core/http.js';

export const myUnit = (opts) => get('/api/me/unit', opts);

function query({ year, kind, state }) {
  const p = new URLSearchParams();
  if (year) p.set('year', year);
  if (kind) p.set('kind', kind);
  if (state) p.set('state', state);
  return p.toString();
}

export const staffList = (unitId, filters) => get(`/api/units/${encodeURIComponent(unitId)}/staff?${query(filters)}`);

export const downloadUrl = (unitId, filters) => `/api/units/${encodeURIComponent(unitId)}/staff.xlsx?${query(filters)}`;

export const remind = (unitId, { year, kind }) => post(`/api/units/${encodeURIComponent(unitId)}/reminders`, kind ? { year, kind } : { year });
