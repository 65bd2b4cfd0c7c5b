// 我的进度: this year's 公需 and 专业 学时 against 30 / 60, each plan's 计划完成度, its courses
// and their chapters.
import { KIND_NAMES } from '../api/catalogue.js';
import { myProgress } from '../api/progress.js';
import { boot, emptyBlock, h, hours, page, params, percentText, progressBar } from '../core/ui.js';

const yearParam = Number(params().get('year')) || undefined;

function stat(label, total) {
  const met = total.done >= total.required;
  return h(
    'div',
    { class: 'stat', dataset: { kind: label } },
    h('div', { class: 'label' }, label),
    h('div', { class: 'value' }, hours(total.done), h('small', {}, ` / ${hours(total.required)} 学时`)),
    progressBar(total.required ? (total.done * 100) / total.required : 0, `${label}学时`),
    h('div', { class: 'label' }, met ? '已达标' : `还差 ${hours(total.required - total.done)} 学时`),
  );
}

function courseBlock(plan, c) {
  return h(
    'details',
    { class: 'course-progress' },
    h(
      'summary',
      { class: 'weui-cell' },
      h('div', { class: 'weui-cell__bd' }, c.title),
      h('div', { class: 'weui-cell__ft' }, c.done ? h('span', { class: 'tag' }, '已学完') : h('span', { class: 'tag blue' }, '学习中'), `${hours(c.hours)} 学时`),
    ),
    h(
      'div',
      { class: 'weui-cells' },
      c.chapters.map((ch) =>
        h('div', { class: 'weui-cell' }, h('div', { class: 'weui-cell__bd meta' }, ch.title), h('div', { class: 'weui-cell__ft' }, ch.done ? '已学完' : percentText(ch.percent))),
      ),
      h('a', { class: 'weui-cell weui-cell_access', href: `/h5/course?id=${c.id}&plan=${plan.id}` }, h('div', { class: 'weui-cell__bd' }, c.done ? '再次观看' : '继续学习'), h('div', { class: 'weui-cell__ft' })),
      h('a', { class: 'weui-cell weui-cell_access learning-record-link', href: `/h5/learning-record?course=${c.id}` }, h('div', { class: 'weui-cell__bd' }, '学习记录'), h('div', { class: 'weui-cell__ft' })),
    ),
  );
}

function planBlock(plan) {
  return h(
    'div',
    { class: 'card plan-card', dataset: { planId: plan.id } },
    h('h3', {}, h('a', { href: `/h5/plan?id=${plan.id}` }, plan.title || '培训项目')),
    h('div', { class: 'meta' }, KIND_NAMES[plan.kind] ? h('span', { class: 'tag' }, KIND_NAMES[plan.kind]) : null, plan.done ? h('span', { class: 'tag' }, '已完成') : null, `学分要求：${hours(plan.requiredHours)} 学时`),
    h('div', { class: 'meta' }, `计划完成度：已学 ${hours(plan.hoursDone)} / ${hours(plan.requiredHours)} 学时`),
    progressBar(plan.percent, '计划完成度'),
    plan.courses.length ? h('div', { class: 'courses' }, plan.courses.map((c) => courseBlock(plan, c))) : h('div', { class: 'meta' }, '还没有开始学习课程'),
  );
}

async function load() {
  const data = await myProgress(yearParam);
  const year = data.year || yearParam || new Date().getFullYear();
  const total = { done: data.public.done + data.specialist.done, required: data.public.required + data.specialist.required };
  page(
    '我的进度',
    [
      h('div', { class: 'page-head' }, h('h1', {}, `${year} 年度学习进度`), h('p', {}, `已获 ${hours(total.done)} / ${hours(total.required)} 学时（公需科目不少于 30 学时，专业科目不少于 60 学时）`)),
      h('div', { class: 'stat-grid' }, stat('公需科目', data.public), stat('专业科目', data.specialist)),
      h('div', { class: 'weui-cells__title' }, '我的培训项目'),
      data.plans.length ? data.plans.map(planBlock) : emptyBlock('还没有购买培训项目'),
      h('p', { class: 'hint' }, h('a', { href: '/h5/plans' }, '选择培训项目'), `　`, h('a', { href: `/h5/progress?year=${year - 1}` }, `查看 ${year - 1} 年度`)),
    ],
    { tab: '/h5/progress' },
  );
}

boot('我的进度', load, { tab: '/h5/progress' });
