// Progress calls: 我的进度 (the yearly standing, plans, courses, chapters), where a chapter resumes,
// and the player's beacons (fetch while the page lives, navigator.sendBeacon when it leaves).
import { ApiError, get, isMissingRoute } from '../core/http.js';
import { list, num, percentOf, pick } from './normalize.js';

export const REQUIRED = { public: 30, specialist: 60 };

/** One kind of the yearly standing (wxapp/progress/standing.py): 学时 done, counted up to the
 * requirement, the surplus shown apart, and what is still short. */
function total(raw, kind) {
  const totals = pick(raw, ['totals', 'credits'], raw);
  const value = pick(totals, [kind, `${kind}_hours`]);
  let done;
  let required;
  if (value && typeof value === 'object') {
    done = num(pick(value, ['done', 'hours_done', 'hours']));
    required = num(pick(value, ['required', 'hours_required', 'required_hours']), REQUIRED[kind]);
  } else {
    done = num(value);
    required = num(pick(totals, [`${kind}_required`]), REQUIRED[kind]);
  }
  const counted = value && typeof value === 'object' ? num(pick(value, ['counted']), Math.min(done, required)) : Math.min(done, required);
  return {
    done,
    required,
    counted,
    surplus: Math.max(done - required, 0),
    short: Math.max(required - done, 0),
    met: done >= required,
  };
}

const SHORT_NAMES = { public: '公需', specialist: '专业' };

/** "还差 30 公需学时" / "还差 公需 10 学时、专业 5 学时" / "" (the server's own words when given). */
function shortfallText(kinds) {
  const missing = Object.entries(kinds).filter(([, k]) => !k.met);
  if (!missing.length) return '';
  const n = (x) => String(Math.round(x * 10) / 10);
  if (missing.length === 1) return `还差 ${n(missing[0][1].short)} ${SHORT_NAMES[missing[0][0]]}学时`;
  return `还差 ${missing.map(([kind, k]) => `${SHORT_NAMES[kind]} ${n(k.short)} 学时`).join('、')}`;
}

function normalizeCertificate(c) {
  if (!c || typeof c !== 'object') return null;
  return { id: pick(c, ['id']), serial: pick(c, ['serial'], ''), printUrl: pick(c, ['print_url'], `/certificates/${pick(c, ['id'])}`) };
}

const NOT_DONE = ['not_started', 'learning', 'started', 'in_progress', 'pending', ''];

/** true/false flags, state words, or a completion timestamp (present = done). */
function doneFlag(obj, keys) {
  const v = pick(obj, keys);
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') return !NOT_DONE.includes(v);
  return Boolean(v);
}

function normalizeChapter(ch) {
  const duration = num(pick(ch, ['duration', 'duration_s']));
  const watched = num(pick(ch, ['watched_seconds', 'watched']));
  const done = doneFlag(ch, ['done', 'learned', 'chapter_done', 'completed', 'completed_at', 'state']);
  return {
    id: pick(ch, ['chapter_id', 'id']),
    title: pick(ch, ['title'], ''),
    percent: done ? 100 : num(pick(ch, ['percent']), percentOf(watched, duration)),
    done,
  };
}

function normalizeCourseProgress(c) {
  const chapters = list(pick(c, ['chapters'], [])).map(normalizeChapter);
  const done = doneFlag(c, ['done', 'learned', 'course_done', 'completed', 'completed_at']) || pick(c, ['state']) === 'learned';
  const state = pick(c, ['state'], done ? 'learned' : chapters.some((x) => x.percent > 0) ? 'learning' : 'not_started');
  return {
    id: pick(c, ['course_id', 'id']),
    title: pick(c, ['title'], ''),
    hours: num(pick(c, ['hours'])),
    done: done || ['learned', 'done', 'completed'].includes(state),
    started: state !== 'not_started' || chapters.some((x) => x.percent > 0),
    chapters,
  };
}

export function normalizePlanProgress(p) {
  const required = num(pick(p, ['required_hours', 'hours_required', 'plan_hours_required']));
  const doneHours = num(pick(p, ['hours_done', 'plan_hours_done', 'done_hours']));
  return {
    id: pick(p, ['plan_id', 'id']),
    title: pick(p, ['title', 'plan_title'], ''),
    kind: pick(p, ['kind'], ''),
    year: pick(p, ['year']),
    requiredHours: required,
    hoursDone: doneHours,
    percent: num(pick(p, ['percent', 'completion', 'plan_percent']), percentOf(doneHours, required)),
    done: doneFlag(p, ['done', 'plan_done', 'completed', 'completed_at']),
    certificate: normalizeCertificate(pick(p, ['certificate'])),
    courses: list(pick(p, ['courses'], [])).map(normalizeCourseProgress),
  };
}

/** 我的进度 for a year; an API not there yet reads as "nothing learned" rather than an error. */
export async function myProgress(year, { tolerateMissing = false } = {}) {
  let raw;
  try {
    raw = await get('/api/me/progress', { query: { year } });
  } catch (err) {
    if (tolerateMissing && isMissingRoute(err)) raw = {};
    else throw err;
  }
  const kinds = { public: total(raw, 'public'), specialist: total(raw, 'specialist') };
  const totals = pick(raw, ['totals'], {}) || {};
  const shown = num(pick(raw, ['year']), year);
  return {
    year: shown,
    ...kinds,
    counted: kinds.public.counted + kinds.specialist.counted,
    required: kinds.public.required + kinds.specialist.required,
    met: kinds.public.met && kinds.specialist.met,
    shortfall: pick(totals, ['shortfall'], shortfallText(kinds)),
    years: list(pick(raw, ['years'], [])).map((y) => num(y)).filter(Boolean),
    plans: list(pick(raw, ['plans', 'enrollments'], [])).map(normalizePlanProgress),
  };
}

export async function resume(chapterId) {
  const raw = await get(`/api/chapters/${encodeURIComponent(chapterId)}/resume`, { loading: false });
  return {
    position: num(pick(raw, ['position'])),
    intervals: list(pick(raw, ['intervals'], [])).filter((x) => Array.isArray(x) && x.length >= 2).map((x) => [num(x[0]), num(x[1])]),
    watchedSeconds: num(pick(raw, ['watched_seconds'])),
    duration: num(pick(raw, ['duration'])),
    done: doneFlag(raw, ['chapter_done', 'done', 'completed_at']),
  };
}

export function normalizeBeaconReply(raw) {
  return {
    chapterId: pick(raw, ['chapter_id']),
    watchedSeconds: num(pick(raw, ['watched_seconds'])),
    duration: num(pick(raw, ['duration'])),
    percent: num(pick(raw, ['percent'])),
    chapterDone: Boolean(pick(raw, ['chapter_done'])),
    courseDone: Boolean(pick(raw, ['course_done'])),
    planId: pick(raw, ['plan_id']),
    planHoursDone: num(pick(raw, ['plan_hours_done'])),
    planHoursRequired: num(pick(raw, ['plan_hours_required'])),
    planDone: Boolean(pick(raw, ['plan_done'])),
    // 防挂机: {check_id, due, answer_by} when a presence check waits for an answer
    presence: pick(raw, ['presence']) || null,
  };
}

/** One beacon while the page lives; throws ApiError (409 superseded, 403, ...). */
export async function sendBeacon(payload) {
  let res;
  try {
    res = await fetch('/api/beacons', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(payload),
      keepalive: true,
    });
  } catch {
    throw new ApiError(0, null);
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return normalizeBeaconReply(data || {});
}

/** The last beacon as the page goes away: the browser delivers it even after unload. */
export function sendBeaconOnLeave(payload) {
  const blob = new Blob([JSON.stringify(payload)], { type: 'application/json' });
  if (navigator.sendBeacon && navigator.sendBeacon('/api/beacons', blob)) return true;
  fetch('/api/beacons', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(payload),
    keepalive: true,
  }).catch(() => {});
  return false;
}
