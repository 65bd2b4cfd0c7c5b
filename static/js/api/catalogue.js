// Catalogue calls: plans by year and kind, one plan with a page of its courses, a course.
import { get } from '../core/http.js';
import { list, num, pick } from './normalize.js';

export const KIND_NAMES = { public: '公需科目', specialist: '专业科目' };

export function normalizePlan(p) {
  const required = num(pick(p, ['required_hours', 'hours_required']));
  const perHour = num(pick(p, ['price_per_hour_fen']));
  return {
    id: pick(p, ['id', 'plan_id']),
    year: pick(p, ['year']),
    kind: pick(p, ['kind'], 'specialist'),
    kindName: pick(p, ['kind_name'], KIND_NAMES[pick(p, ['kind'])] || ''),
    title: pick(p, ['title', 'name'], ''),
    provider: pick(p, ['provider'], ''),
    requiredHours: required,
    pricePerHourFen: perHour,
    priceFen: num(pick(p, ['price_fen', 'amount']), required * perHour),
    onSale: pick(p, ['on_sale'], true) !== false,
    hoursOnOffer: num(pick(p, ['hours_on_offer'])),
  };
}

export function normalizeCourse(c) {
  return {
    id: pick(c, ['id', 'course_id']),
    title: pick(c, ['title', 'name'], ''),
    category: pick(c, ['category'], ''),
    hours: num(pick(c, ['hours'])),
    teacher: pick(c, ['teacher'], ''),
    description: pick(c, ['description'], ''),
    chapters: list(pick(c, ['chapters'], [])).map((ch) => ({
      id: pick(ch, ['id', 'chapter_id']),
      position: pick(ch, ['position']),
      title: pick(ch, ['title'], ''),
      duration: num(pick(ch, ['duration', 'duration_s'])),
      videoUrl: pick(ch, ['video_url', 'url'], ''),
    })),
  };
}

export async function listPlans({ year, kind } = {}) {
  const data = await get('/api/plans', { query: { year, kind } });
  return list(pick(data, ['items', 'plans'], data)).map(normalizePlan);
}

export async function planDetail(id, page = 1, perPage = 10) {
  const data = await get(`/api/plans/${encodeURIComponent(id)}`, { query: { page, per_page: perPage } });
  const courses = pick(data, ['courses'], {});
  return {
    plan: normalizePlan(data),
    page: num(pick(courses, ['page']), page),
    perPage: num(pick(courses, ['per_page']), perPage),
    total: num(pick(courses, ['total'])),
    courses: list(courses).map(normalizeCourse),
  };
}

export async function course(id) {
  return normalizeCourse(await get(`/api/courses/${encodeURIComponent(id)}`));
}
