// 培训项目: tabs 公需科目 / 专业科目, by year; each plan's 学分要求, price and what the trainee
// already has (已购买, 计划完成度).
import { KIND_NAMES, listPlans } from '../api/catalogue.js';
import { myProgress } from '../api/progress.js';
import { boot, emptyBlock, h, hours, page, params, progressBar, yuan } from '../core/ui.js';

const q = params();
let kind = q.get('kind') === 'public' ? 'public' : 'specialist';
let year = Number(q.get('year')) || null;

function planCard(plan, mine) {
  const owned = Boolean(mine);
  return h(
    'div',
    { class: 'card plan-card', dataset: { planId: plan.id } },
    h('h3', {}, plan.title),
    h(
      'div',
      { class: 'meta' },
      h('span', { class: 'tag' }, plan.kindName),
      owned ? h('span', { class: 'tag blue' }, '已购买') : null,
      owned && mine.done ? h('span', { class: 'tag' }, '已完成') : null,
      !plan.onSale && !owned ? h('span', { class: 'tag gray' }, '不在销售期') : null,
      h('div', {}, `学分要求：${hours(plan.requiredHours)} 学时`),
      plan.provider ? h('div', {}, `施教机构：${plan.provider}`) : null,
    ),
    owned
      ? h('div', { class: 'plan-progress' }, h('div', { class: 'meta' }, `计划完成度（已学 ${hours(mine.hoursDone)} / ${hours(plan.requiredHours)} 学时）`), progressBar(mine.percent, '计划完成度'))
      : null,
    h(
      'div',
      { class: 'row' },
      h('span', { class: 'price' }, `¥${yuan(plan.priceFen)}`, h('small', {}, ` （${yuan(plan.pricePerHourFen)} 元/学时）`)),
      h('a', { class: `weui-btn weui-btn_mini ${owned ? 'weui-btn_default' : 'weui-btn_primary'}`, href: `/h5/plan?id=${plan.id}` }, owned ? '进入学习' : '立即购买'),
    ),
  );
}

async function load() {
  const all = await listPlans({ kind });
  const years = [...new Set(all.map((p) => p.year))].sort((a, b) => b - a);
  if (!year || !years.includes(year)) year = years[0] || null;
  const plans = all.filter((p) => p.year === year);
  const progress = year ? await myProgress(year, { tolerateMissing: true }) : null;
  const mineById = new Map((progress?.plans || []).map((p) => [String(p.id), p]));
  const totals = progress ? progress[kind] : null;
  const url = `/h5/plans?kind=${kind}${year ? `&year=${year}` : ''}`;
  window.history.replaceState(null, '', url);

  const tabs = h(
    'div',
    { class: 'weui-navbar', role: 'tablist' },
    Object.entries(KIND_NAMES).map(([k, label]) =>
      h(
        'div',
        {
          class: k === kind ? 'weui-navbar__item weui-bar__item_on' : 'weui-navbar__item',
          role: 'tab',
          'aria-selected': k === kind ? 'true' : 'false',
          onclick: () => {
            if (k === kind) return;
            kind = k;
            boot('培训项目', load, { tab: '/h5/plans' });
          },
        },
        label,
      ),
    ),
  );
  const yearSelect = h(
    'select',
    {
      'aria-label': '年度',
      id: 'year',
      onchange: (e) => {
        year = Number(e.target.value);
        boot('培训项目', load, { tab: '/h5/plans' });
      },
    },
    years.map((y) => h('option', { value: y, selected: y === year }, `${y} 年度`)),
  );
  page(
    '培训项目',
    [
      tabs,
      h(
        'div',
        { class: 'year-bar' },
        years.length ? yearSelect : h('span', {}, ''),
        totals ? h('span', { class: 'year-total' }, `${KIND_NAMES[kind]}已计 ${hours(totals.counted)} / ${hours(totals.required)} 学时${totals.surplus > 0 ? `（另超出 ${hours(totals.surplus)}）` : ''}`) : null,
      ),
      plans.length ? plans.map((p) => planCard(p, mineById.get(String(p.id)))) : emptyBlock(`暂无${KIND_NAMES[kind]}培训项目`),
      h('p', { class: 'hint' }, '专业技术人员每年累计应不少于 90 学时，其中公需科目不少于 30 学时，专业科目不少于 60 学时。'),
    ],
    { tab: '/h5/plans' },
  );
}

boot('培训项目', load, { tab: '/h5/plans' });
