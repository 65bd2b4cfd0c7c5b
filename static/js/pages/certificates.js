// 我的证书: the certificates (打印证书, 刷新证书), completed plans still to be issued, and
// what is missing before one can be.
import { me } from '../api/auth.js';
import { KIND_NAMES } from '../api/catalogue.js';
import { issue, myCertificates } from '../api/certs.js';
import { isMissingRoute } from '../core/http.js';
import { myProgress } from '../api/progress.js';
import { alertDialog, boot, dateText, emptyBlock, h, hours, page, params, progressBar, toast } from '../core/ui.js';

const yearParam = Number(params().get('year')) || undefined;

async function issueFor(planId, refresh) {
  try {
    await issue(planId);
    toast(refresh ? '证书已刷新' : '证书已生成');
    await load();
  } catch (err) {
    if (!err.redirecting) await alertDialog(err.message, refresh ? '无法刷新证书' : '暂不能打印证书');
  }
}

function certCard(c) {
  return h(
    'div',
    { class: 'card cert-card', dataset: { certId: c.id } },
    h('h3', {}, c.planTitle || '合格证书'),
    h(
      'div',
      { class: 'meta' },
      KIND_NAMES[c.kind] ? h('span', { class: 'tag' }, KIND_NAMES[c.kind]) : null,
      c.year ? `${c.year} 年度　` : '',
      `${hours(c.hours)} 学时`,
      h('div', {}, `证书编号：${c.serial}`),
      c.issuedAt ? h('div', {}, `发证日期：${dateText(c.issuedAt)}`) : null,
    ),
    h(
      'div',
      { class: 'row' },
      h('a', { class: 'weui-btn weui-btn_mini weui-btn_primary', href: c.printUrl || c.pdfUrl, target: '_blank' }, '打印证书'),
      c.pdfUrl ? h('a', { class: 'weui-btn weui-btn_mini weui-btn_default', href: c.pdfUrl, download: '' }, '下载 PDF') : null,
      c.planId ? h('button', { class: 'weui-btn weui-btn_mini weui-btn_default', onclick: () => issueFor(c.planId, true) }, '刷新证书') : null,
    ),
  );
}

function missingInfo(profile) {
  if (!profile) return [];
  const missing = [];
  if (!profile.name) missing.push('姓名');
  if (!profile.unit && !profile.archive_district) missing.push('单位（若查找不到贵单位，请选择您档案所在区县）');
  return missing;
}

async function load() {
  let certs = [];
  let unavailable = false;
  try {
    certs = await myCertificates();
  } catch (err) {
    if (!isMissingRoute(err)) throw err;
    unavailable = true;
  }
  const [progress, profile] = await Promise.all([myProgress(yearParam, { tolerateMissing: true }), me()]);
  const issued = new Set(certs.map((c) => String(c.planId)));
  const ready = progress.plans.filter((p) => p.done && !issued.has(String(p.id)));
  const notYet = progress.plans.filter((p) => !p.done);
  const missing = missingInfo(profile);
  page(
    '我的证书',
    [
      h('div', { class: 'page-head' }, h('h1', {}, '我的证书'), h('p', {}, '达到培训项目要求的学分后，按照提示完善个人信息后即可打印合格证书。合格证书已采用电子印章，无需加盖鲜章。')),
      unavailable ? h('div', { class: 'notice' }, '证书服务暂未开放，请稍后再试') : null,
      missing.length ? h('div', { class: 'notice', id: 'missing-info' }, `打印证书前请完善个人信息：${missing.join('、')}`) : null,
      certs.length ? certs.map(certCard) : emptyBlock('暂无证书'),
      ready.length ? h('div', { class: 'weui-cells__title' }, '已完成，可申请证书') : null,
      ready.map((p) =>
        h(
          'div',
          { class: 'card plan-card', dataset: { planId: p.id } },
          h('h3', {}, p.title),
          h('div', { class: 'meta' }, `已学 ${hours(p.hoursDone)} / ${hours(p.requiredHours)} 学时`),
          h('div', { class: 'row' }, h('span'), h('button', { class: 'weui-btn weui-btn_mini weui-btn_primary', onclick: () => issueFor(p.id, false) }, '打印证书')),
        ),
      ),
      notYet.length ? h('div', { class: 'weui-cells__title' }, '学习中（达到要求的学分后可打印证书）') : null,
      notYet.map((p) =>
        h(
          'div',
          { class: 'card plan-card', dataset: { planId: p.id } },
          h('h3', {}, p.title),
          h('div', { class: 'meta' }, `还差 ${hours(Math.max(0, p.requiredHours - p.hoursDone))} 学时（已学 ${hours(p.hoursDone)} / ${hours(p.requiredHours)} 学时）`),
          progressBar(p.percent, '计划完成度'),
        ),
      ),
      h('p', { class: 'hint' }, '如涉及单位等信息变更，可于个人信息更新后，点击“刷新证书”，证书信息即可更新。证书问题咨询：400-023-9229，按 1 选择登录注册问题。'),
    ],
    { tab: '/h5/certificates' },
  );
}

boot('我的证书', load, { tab: '/h5/certificates' });
