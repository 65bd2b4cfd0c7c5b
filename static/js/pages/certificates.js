// 我的证书: each paid plan with its certificate (打印证书, 刷新证书), what is missing before one
// can be issued (学时 still to learn, personal info), and the personal info form itself.
import { me } from '../api/auth.js';
import { KIND_NAMES } from '../api/catalogue.js';
import { issue, myCertificates } from '../api/certs.js';
import { districts, searchUnits, updateProfile } from '../api/profile.js';
import { isMissingRoute } from '../core/http.js';
import { $, alertDialog, boot, emptyBlock, h, hours, page, progressBar, toast, topTips } from '../core/ui.js';

const open = (url) => window.location.assign(url);

async function issueFor(planId, refresh) {
  try {
    const cert = await issue(planId);
    toast(refresh ? '证书已刷新' : '证书已生成');
    // Drawn again before the print page opens, so that 返回 shows the new certificate even
    // when the browser restores this page as it was left (its back-forward cache).
    await load();
    if (!refresh && cert?.printUrl) setTimeout(() => open(cert.printUrl), 800);
  } catch (err) {
    if (err.redirecting) return;
    await alertDialog(err.message, refresh ? '无法刷新证书' : '暂不能打印证书');
    if (err.code === 'profile_incomplete') $('#profile-form')?.scrollIntoView();
  }
}

function entryCard(e) {
  const c = e.certificate;
  const kind = KIND_NAMES[e.plan.kind];
  const head = [h('h3', {}, e.plan.title || '培训项目'), h('div', { class: 'meta' }, kind ? h('span', { class: 'tag' }, kind) : null, e.plan.year ? `${e.plan.year} 年度　` : '', `学分要求：${hours(e.plan.requiredHours)} 学时`)];
  if (c) {
    return h(
      'div',
      { class: 'card cert-card', dataset: { planId: e.plan.id, certId: c.id } },
      head,
      h('div', { class: 'meta' }, h('div', {}, `证书编号：${c.serial}`), h('div', {}, `学时：${hours(c.hours)}　发证日期：${c.issueDate || (c.issuedAt || '').slice(0, 10)}`), c.issuer ? h('div', {}, `发证机构：${c.issuer}`) : null),
      h(
        'div',
        { class: 'row' },
        h('span'),
        h('span', {}, h('a', { class: 'weui-btn weui-btn_mini weui-btn_primary', href: c.printUrl }, '打印证书'), c.pdfUrl ? h('a', { class: 'weui-btn weui-btn_mini weui-btn_default', href: c.pdfUrl, download: '' }, '下载 PDF') : null, h('button', { class: 'weui-btn weui-btn_mini weui-btn_default', onclick: () => issueFor(e.plan.id, true) }, '刷新证书')),
      ),
    );
  }
  if (e.complete) {
    return h(
      'div',
      { class: 'card plan-card', dataset: { planId: e.plan.id } },
      head,
      h('div', { class: 'meta' }, `已学 ${hours(e.hoursDone)} / ${hours(e.plan.requiredHours)} 学时，已达到要求`),
      h('div', { class: 'row' }, h('span'), h('button', { class: 'weui-btn weui-btn_mini weui-btn_primary', onclick: () => issueFor(e.plan.id, false) }, '打印证书')),
    );
  }
  return h(
    'div',
    { class: 'card plan-card', dataset: { planId: e.plan.id } },
    head,
    h('div', { class: 'meta' }, `还差 ${hours(Math.max(0, e.plan.requiredHours - e.hoursDone))} 学时（已学 ${hours(e.hoursDone)} / ${hours(e.plan.requiredHours)} 学时）`),
    progressBar(e.percent, '计划完成度'),
  );
}

/** 组织机构选择贵单位，若查找不到贵单位，请选择您档案所在区县 (the notice). */
function profileForm(profile, districtList) {
  let chosenUnit = null;
  const results = h('div', { class: 'weui-cells weui-cells_radio', id: 'unit-results' });
  const search = h('input', { class: 'weui-input', id: 'unit-q', placeholder: '输入单位名称查找', maxlength: 100 });
  let timer = null;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const q = search.value.trim();
      if (!q) return results.replaceChildren();
      try {
        const units = await searchUnits(q);
        chosenUnit = null;
        results.replaceChildren(
          ...(units.length
            ? units.map((u) =>
                h(
                  'label',
                  { class: 'weui-cell weui-cell_active weui-check__label' },
                  h('div', { class: 'weui-cell__bd' }, h('p', {}, u.name), h('p', { class: 'meta' }, u.district)),
                  h('div', { class: 'weui-cell__ft' }, h('input', { type: 'radio', class: 'weui-check', name: 'unit', value: u.id, onchange: () => (chosenUnit = u.id) }), h('span', { class: 'weui-icon-checked' })),
                ),
              )
            : [h('div', { class: 'weui-cell' }, h('div', { class: 'weui-cell__bd meta' }, '查找不到贵单位？请在下方选择您档案所在区县'))]),
        );
      } catch (err) {
        results.replaceChildren(h('div', { class: 'weui-cell' }, h('div', { class: 'weui-cell__bd meta' }, err.message)));
      }
    }, 300);
  });
  const district = h('select', { class: 'weui-select', id: 'archive-district' }, h('option', { value: '' }, '请选择档案所在区县'), districtList.map((d) => h('option', { value: d, selected: d === profile?.archive_district }, d)));
  const save = async () => {
    const changes = chosenUnit ? { unit_id: Number(chosenUnit) } : district.value ? { archive_district: district.value } : null;
    if (!changes) return topTips('请选择单位，或选择档案所在区县');
    try {
      await updateProfile(changes);
      toast('个人信息已保存');
      await load();
    } catch (err) {
      if (!err.redirecting) topTips(err.message);
    }
  };
  return h(
    'div',
    { id: 'profile-form' },
    h('div', { class: 'weui-cells__title' }, '完善个人信息（注册信息将作为合格证书的重要数据，请确保真实准确）'),
    h('div', { class: 'weui-cells weui-cells_form' }, h('div', { class: 'weui-cell' }, h('div', { class: 'weui-cell__hd' }, h('span', { class: 'weui-label' }, '单位')), h('div', { class: 'weui-cell__bd' }, search))),
    results,
    h('div', { class: 'weui-cells weui-cells_form' }, h('div', { class: 'weui-cell weui-cell_select weui-cell_select-after' }, h('div', { class: 'weui-cell__hd' }, h('span', { class: 'weui-label' }, '档案所在区县')), h('div', { class: 'weui-cell__bd' }, district))),
    h('div', { class: 'weui-cells__tips' }, '组织机构选择贵单位，若查找不到贵单位，请选择您档案所在区县。'),
    h('div', { class: 'weui-btn-area' }, h('button', { class: 'weui-btn weui-btn_primary', id: 'save-profile', onclick: save }, '保存')),
  );
}

async function load() {
  let entries = [];
  let unavailable = false;
  try {
    entries = await myCertificates();
  } catch (err) {
    if (!isMissingRoute(err)) throw err;
    unavailable = true;
  }
  const profile = await me();
  const missingUnit = profile && !profile.unit && !profile.archive_district;
  let districtList = [];
  if (missingUnit) {
    try {
      districtList = await districts();
    } catch (err) {
      if (!isMissingRoute(err)) throw err;
    }
  }
  const issued = entries.filter((e) => e.certificate);
  const rest = entries.filter((e) => !e.certificate);
  // Nothing issued yet: say what comes next, never 暂无证书 above a plan ready to print.
  const emptyText = !entries.length
    ? '还没有购买培训项目'
    : rest.some((e) => e.complete)
      ? '已达到要求的项目，点击下方“打印证书”即可生成合格证书'
      : '暂无证书，达到要求的学分后可打印证书';
  page(
    '我的证书',
    [
      h('div', { class: 'page-head' }, h('h1', {}, '我的证书'), h('p', {}, '达到培训项目要求的学分后，按照提示完善', h('a', { href: '/h5/profile', id: 'profile-link' }, '个人信息'), '后即可打印合格证书。合格证书已采用电子印章，无需加盖鲜章。')),
      unavailable ? h('div', { class: 'notice' }, '证书服务暂未开放，请稍后再试') : null,
      missingUnit ? h('div', { class: 'notice', id: 'missing-info' }, '打印证书前请完善个人信息：单位（若查找不到贵单位，请选择您档案所在区县）') : null,
      issued.length ? issued.map(entryCard) : unavailable ? null : emptyBlock(emptyText),
      rest.length ? h('div', { class: 'weui-cells__title' }, '我的培训项目') : null,
      rest.map(entryCard),
      missingUnit ? profileForm(profile, districtList) : null,
      h('p', { class: 'hint' }, '如涉及单位等信息变更，可于', h('a', { href: '/h5/profile' }, '个人信息'), '页面更新后，点击“刷新证书”，证书信息即可更新。证书问题咨询：400-023-9229，按 1 选择登录注册问题。'),
    ],
    { tab: '/h5/certificates' },
  );
}

boot('我的证书', load, { tab: '/h5/certificates' });
