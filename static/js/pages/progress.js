// 我的进度: the year's standing (公需 and 专业 each counted up to 30 / 60, surplus shown apart,
// 还差 per kind), each plan's 计划完成度 with the certificate held for it, its courses and their
// chapters, and links to every year the trainee has plans in.
import { KIND_NAMES } from '../api/catalogue.js';
import { myProgress } from '../api/progress.js';
import { boot, emptyBlock, h, hours, page, params, percentText, progressBar } from '../core/ui.js';

const yearParam = Number(params().get('year')) || undefined;

function stat(label, total) {
  return h(
    'div',
    { class: 'stat', dataset: { kind: label } },
    h('div', { class: 'label' }, label),
    h('div', { class: 'value' }, hours(total.counted), h('small', {}, ` / ${hours(total.required)} 学时`)),
    progressBar(total.required ? (total.counted * 100) / total.required : 0, `${label}学时`),
    h('div', { class: 'label' }, total.met ? '已达标' : `还差 ${hours(total.short)} 学时`),
    total.surplus > 0 ? h('div', { class: 'label surplus' }, `另超出 ${hours(total.surplus)} 学时，不计入年度学时`) : null,
  );
}

function certificateLine(plan) {
  if (plan.certificate) {
    return h(
      'a',
      { class: 'weui-cell weui-cell_access cert-held', href: plan.certificate.printUrl },
      h('div', { class: 'weui-cell__bd' }, h('span', { class: 'tag' }, '已获证书'), `证书编号 ${plan.certificate.serial}`),
      h('div', { class: 'weui-cell__ft' }, '查看、打印'),
    );
  }
  if (plan.done) {
    return h('a', { class: 'weui-cell weui-cell_access cert-ready', href: '/h5/certificates' }, h('div', { class: 'weui-cell__bd' }, '已完成，可申请证书'), h('div', { class: 'weui-cell__ft' }));
  }
  return null;
}

function yearLinks(year, years) {
  const all = years.includes(year) ? years : [year, ...years];
  if (all.length < 2) return null;
  return h(
    'div',
    { class: 'year-links' },
    h('span', {}, '其他年度：'),
    all.filter((y) => y !== year).map((y) => h('a', { href: `/h5/progress?year=${y}` }, `${y} 年度`)),
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
    certificateLine(plan),
    plan.courses.length ? h('div', { class: 'courses' }, plan.courses.map((c) => courseBlock(plan, c))) : h('div', { class: 'meta' }, '还没有开始学习课程'),
  );
}

async function load() {
  const data = await myProgress(yearParam);
  const year = data.year || yearParam || new Date().getFullYear();
  page(
    '我的进度',
    [
      h(
        'div',
        { class: 'page-head' },
        h('h1', {}, `${year} 年度学习进度`),
        h('p', { class: 'standing' }, `已计 ${hours(data.counted)} / ${hours(data.required)} 学时，`, data.met ? h('strong', { class: 'met' }, '已达标') : h('strong', { class: 'short' }, data.shortfall)),
        h('p', {}, '公需科目不少于 30 学时，专业科目不少于 60 学时；每类超出要求的学时不抵扣另一类。'),
      ),
      h('div', { class: 'stat-grid' }, stat('公需科目', data.public), stat('专业科目', data.specialist)),
      yearLinks(year, data.years),
      h('div', { class: 'weui-cells__title' }, '我的培训项目'),
      data.plans.length ? data.plans.map(planBlock) : emptyBlock('还没有购买培训项目'),
      h('p', { class: 'hint' }, h('a', { href: '/h5/plans' }, '选择培训项目'), '　', h('a', { href: '/h5/certificates' }, '我的证书')),
    ],
    { tab: '/h5/progress' },
  );
}

boot('我的进度', load, { tab: '/h5/progress' });
