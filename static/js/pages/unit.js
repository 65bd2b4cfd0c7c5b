// 单位学时统计 (for a unit's administrator): the year's 应训未训 list with filters (公需/专业;
// 未开始/学习中/未达标/已达标) and their counts, the xlsx download of what is shown, and
// 一键提醒 to the staff who have not met the year, and the year's 人员变动 (who joined, who
// left: someone who moved away is no longer on the list). Filters live in the address.
// Each person also shows whether they hold the year's 公需/专业 plan (whom 团体购买 still
// needs) and whether their roster account is still 未激活 (never logged in: 一键提醒 cannot
// reach them), and has 更正 for a typo in their 姓名 or 身份证号码 (rules on the server).
import { correctIdentity } from '../api/unit-staff.js';
import { downloadUrl, myUnit, remind, staffList } from '../api/units.js';
import { boot, confirmDialog, emptyBlock, h, hours, page, params, toast, topTips } from '../core/ui.js';
import { busy, fieldSet } from './sms-form.js';

const KINDS = [['', '全部科目'], ['public', '公需科目'], ['specialist', '专业科目']];
const STATES = [['', '全部', 'all'], ['not_started', '未开始'], ['learning', '学习中'], ['unmet', '未达标'], ['met', '已达标']];
const TAGS = { met: 'tag', learning: 'tag blue', not_started: 'tag warn' };

const thisYear = Number(new Date().toLocaleString('en-US', { timeZone: 'Asia/Shanghai', year: 'numeric' }));
const filters = {
  year: Number(params().get('year')) || thisYear,
  kind: params().get('kind') || '',
  state: params().get('state') || '',
};
let unit = null;
let lastResult = null;
let lastCorrection = null; // what the last 更正 changed, shown above the list after reloading

function href(change) {
  const next = { ...filters, ...change };
  const p = new URLSearchParams();
  p.set('year', next.year);
  if (next.kind) p.set('kind', next.kind);
  if (next.state) p.set('state', next.state);
  return `/h5/unit?${p}`;
}

function chip(label, on, change, extra = {}) {
  return h('a', { class: on ? 'chip on' : 'chip', href: href(change), 'aria-current': on ? 'true' : null, ...extra }, label);
}

function kindLine(k, label) {
  const text = k.met ? `${label} ${hours(k.counted)}/${k.required} 已达标` : `${label} ${hours(k.done)}/${k.required}`;
  return h('span', { class: k.met ? '' : 'short' }, text);
}

/** Why 一键提醒 cannot reach someone who has not met the year ('' when it can). */
function unreachable(row) {
  if (row.state === 'met') return '';
  if (row.activated === false) return '账号未激活（尚未首次登录），无法提醒，请另行通知';
  return row.following ? '' : '未关注公众号，无法提醒';
}

function staffCard(row) {
  const bought = row.bought && (row.bought.public || row.bought.specialist);
  const why = unreachable(row);
  return h(
    'div',
    { class: 'card staff-card', dataset: { state: row.state, traineeId: row.trainee_id } },
    h('h3', {}, row.name, ' ', h('span', { class: TAGS[row.state] || 'tag gray' }, row.state_label)),
    h('div', { class: 'meta' }, `身份证号 ${row.id_number_masked}`),
    h(
      'div',
      { class: 'facts' },
      row.bought_label ? h('span', { class: bought ? 'tag bought' : 'tag gray bought' }, row.bought_label) : null,
      row.activated === false ? h('span', { class: 'tag warn inactive' }, '未激活') : null,
    ),
    h('div', { class: 'nums' }, kindLine(row.public, '公需'), kindLine(row.specialist, '专业')),
    row.shortfall ? h('div', { class: 'meta' }, row.shortfall) : null,
    row.reminded_text ? h('div', { class: 'meta reminded' }, row.reminded_text) : null,
    why ? h('div', { class: 'meta unreachable' }, why) : null,
    row.is_me
      ? null
      : h('div', { class: 'actions' }, h('button', { type: 'button', class: 'weui-btn weui-btn_mini weui-btn_default correct', onclick: () => correctionSheet(row) }, '更正')),
  );
}

const FIELD_LABELS = { name: '姓名', id_number: '身份证号码' };

/** 更正: a sheet for the trainee's 姓名 and/or 身份证号码 and the 更正理由; the server's refusal
 *  shows under the field it names, anything else under the form. */
function correctionSheet(row) {
  const form = fieldSet();
  const name = h('input', { class: 'weui-input', id: 'fix-name', type: 'text', value: row.name, maxlength: 50, autocomplete: 'off' });
  const idNumber = h('input', { class: 'weui-input', id: 'fix-id-number', type: 'text', placeholder: `现为 ${row.id_number_masked}，不更正请留空`, maxlength: 18, autocomplete: 'off', spellcheck: 'false' });
  const reason = h('textarea', { class: 'weui-textarea', id: 'fix-reason', rows: 3, maxlength: 200, placeholder: '如：与身份证不一致（2～200 字）' });
  const general = h('div', { class: 'weui-cells__tips weui-cells__tips_warn field-error', id: 'err-correction', role: 'alert', hidden: true });
  const close = () => sheet.remove();
  const submit = h('button', { type: 'button', class: 'weui-btn weui-btn_primary', id: 'submit-correction' }, '提交更正');
  const cancel = h('button', { type: 'button', class: 'weui-btn weui-btn_default', id: 'cancel-correction', onclick: close }, '取消');
  const sheet = h(
    'div',
    { class: 'correction-sheet', role: 'dialog', 'aria-modal': 'true', 'aria-label': '更正姓名或身份证号码' },
    h('div', { class: 'weui-mask', onclick: close }),
    h(
      'div',
      { class: 'weui-half-screen-dialog', style: { maxHeight: '92vh' } },
      h('div', { class: 'weui-half-screen-dialog__hd' }, h('div', { class: 'weui-half-screen-dialog__hd__main' }, h('strong', { class: 'weui-half-screen-dialog__title' }, '更正姓名或身份证号码'))),
      h(
        'div',
        { class: 'weui-half-screen-dialog__bd' },
        h('div', { class: 'meta' }, `学员：${row.name}（${row.id_number_masked}）`),
        h('div', { class: 'weui-cells weui-cells_form' }, form.field('name', '姓名', name), form.field('id_number', '身份证号码', idNumber), form.field('reason', '更正理由', reason)),
        general,
        h('p', { class: 'hint correction-rules' }, '单位只能更正录入错误：姓名中录错、漏录或多录的一个字，或身份证号码中录错的个别数字（出生日期和性别位除外）；每次只能更正一项，同一学员每年只能由单位更正一次。其他情况请学员本人携身份证联系客服 400-023-9229。'),
      ),
      h('div', { class: 'weui-half-screen-dialog__ft row' }, cancel, submit),
    ),
  );
  submit.addEventListener('click', async () => {
    form.clear();
    general.hidden = true;
    const body = { reason: reason.value.trim() };
    const newName = name.value.trim();
    const newId = idNumber.value.replace(/\s/g, '').toUpperCase(); // the notice: upper-case X, no spaces
    if (newName !== row.name) body.name = newName;
    if (newId) body.id_number = newId;
    busy(submit, true);
    try {
      const result = await correctIdentity(unit.id, row.trainee_id, body);
      close();
      lastCorrection = { before: row.name, result };
      toast('已更正');
      await load();
      document.getElementById('correction-result')?.scrollIntoView({ block: 'center' });
    } catch (err) {
      if (err.redirecting) return;
      if (!form.show(err.field, err.message)) {
        general.textContent = err.message;
        general.hidden = false;
      }
    } finally {
      busy(submit, false);
    }
  });
  document.body.append(sheet);
  name.focus();
}

/** What the last 更正 changed, and what the trainee must still do about a printed certificate. */
function correctionResult() {
  if (!lastCorrection) return null;
  const { before, result } = lastCorrection;
  const changes = (result.changes || []).map((c) => `${FIELD_LABELS[c.field] || c.field}由“${c.old}”更正为“${c.new}”`);
  return h(
    'div',
    { class: 'notice ok', id: 'correction-result', role: 'status' },
    `已更正 ${before} 的信息：${changes.join('；')}。`,
    h('br'),
    '该学员如已取得合格证书，请通知其到“我的证书”点击“刷新证书”后重新打印：刷新前，证书和扫码验证仍显示原信息。',
  );
}

/** 本年度购买 and 未激活 over the whole unit (whatever the filters). */
function summaryLine(s) {
  if (!s) return null;
  return h(
    'p',
    { class: 'hint unit-summary', id: 'unit-summary' },
    `本年度已购买公需 ${s.bought_public} 人、专业 ${s.bought_specialist} 人，均未购买 ${s.bought_none} 人；账号未激活 ${s.not_activated} 人`,
  );
}

const SHOWN = 100; // cards drawn at a time: a unit of thousands stays quick on a phone

/** The list under the filters: 按姓名查找, and SHOWN cards at a time with 显示更多. */
function staffSection(items) {
  if (!items.length) return emptyBlock('没有符合条件的学员');
  const grid = h('div', { class: 'staff-grid', id: 'staff-grid' });
  const more = h('button', { type: 'button', class: 'weui-btn weui-btn_default', id: 'show-more' });
  let matching = items;
  let drawn = 0;
  const drawMore = () => {
    grid.append(...matching.slice(drawn, drawn + SHOWN).map(staffCard));
    drawn = Math.min(drawn + SHOWN, matching.length);
    more.style.display = drawn >= matching.length ? 'none' : ''; // weui-btn's display beats [hidden]
    more.textContent = `显示更多（还有 ${matching.length - drawn} 人）`;
  };
  const search = h('input', { class: 'weui-input', id: 'staff-search', type: 'search', placeholder: '按姓名查找', maxlength: 50 });
  const found = h('div', { class: 'weui-cells__tips', id: 'staff-found', role: 'status' });
  search.addEventListener('input', () => {
    const q = search.value.trim();
    matching = q ? items.filter((row) => row.name.includes(q)) : items;
    grid.replaceChildren();
    drawn = 0;
    found.textContent = q ? `找到 ${matching.length} 人` : '';
    if (matching.length) drawMore();
    else {
      more.style.display = 'none';
      found.textContent = `没有姓名含“${q}”的学员`;
    }
  });
  more.addEventListener('click', drawMore);
  drawMore();
  return [h('div', { class: 'weui-cells' }, h('label', { class: 'weui-cell' }, h('div', { class: 'weui-cell__bd' }, search))), found, grid, h('div', { class: 'weui-btn-area' }, more)];
}

async function pressRemind() {
  const kindName = filters.kind ? KINDS.find(([k]) => k === filters.kind)[1] : '全部科目';
  const ok = await confirmDialog(
    `向${filters.year}年度${kindName}未达标、已关注公众号的学员发送学习提醒？每人每周最多提醒一次。`,
    '一键提醒',
    '发送',
  );
  if (!ok) return;
  try {
    lastResult = await remind(unit.id, filters);
    await load();
  } catch (err) {
    if (!err.redirecting) topTips(err.message);
  }
}

/** 本年度人员变动: who joined and who left (someone who left is no longer on the list). */
function movementsSection(year, movements) {
  const joined = (movements && movements.joined) || [];
  const left = (movements && movements.left) || [];
  if (!joined.length && !left.length) return null;
  const line = (kind, row, where) =>
    h('div', { class: 'weui-cell movement', dataset: { kind } }, h('div', { class: 'weui-cell__bd' }, `${kind === 'joined' ? '调入' : '调出'} ${row.name}（${row.id_number_masked}）`, h('div', { class: 'meta' }, `${row.date} · ${where}`)));
  return [
    h('div', { class: 'weui-cells__title', id: 'movements-title' }, `${year}年度人员变动：调入 ${joined.length} 人，调出 ${left.length} 人`),
    h(
      'div',
      { class: 'weui-cells', id: 'movements' },
      joined.map((r) => line('joined', r, `原单位：${r.from_unit || '未选择单位'}`)),
      left.map((r) => line('left', r, `新单位：${r.to_unit || '未选择单位'}`)),
    ),
  ];
}

async function load() {
  if (!unit) unit = await myUnit();
  const data = await staffList(unit.id, filters);
  const c = data.counts;
  const years = [thisYear, thisYear - 1, thisYear - 2];
  page('单位学时统计', [
    h(
      'div',
      { class: 'unit-page' },
      h('div', { class: 'page-head' }, h('h1', {}, `${unit.name}`), h('p', {}, `${data.year}年度应训未训：每人须完成公需科目 30 学时、专业科目 60 学时`)),
      h('div', { class: 'chips', role: 'group', 'aria-label': '年度' }, years.map((y) => chip(`${y}年度`, y === filters.year, { year: y }))),
      h('div', { class: 'chips', role: 'group', 'aria-label': '科目' }, KINDS.map(([k, label]) => chip(label, k === filters.kind, { kind: k }))),
      h(
        'div',
        { class: 'chips state-chips', role: 'group', 'aria-label': '学习状态' },
        STATES.map(([s, label, key]) => chip(`${label} ${c[key || s]}`, s === filters.state, { state: s }, { dataset: { state: s || 'all' } })),
      ),
      h('p', { class: 'hint' }, '未开始：尚无学时；学习中：已有学时但未达到要求；未达标：未开始与学习中之和；已达标：学时已达到要求。选择“公需科目”或“专业科目”时只按该科目判断。'),
      summaryLine(data.summary),
      h('p', { class: 'hint' }, '已购买公需/专业：已购买本年度该类培训项目，团体购买时无需再为其购买。未激活：批量注册后尚未首次登录（用身份证号码和初始密码登录后，须短信验证激活），收不到一键提醒，请另行通知。'),
      h(
        'div',
        { class: 'unit-actions' },
        h('a', { class: 'weui-btn weui-btn_default download', href: downloadUrl(unit.id, filters), download: '' }, '下载表格'),
        data.can_remind === false
          ? h('a', { role: 'button', class: 'weui-btn weui-btn_primary weui-btn_disabled remind', 'aria-disabled': 'true' }, '一键提醒')
          : h('a', { role: 'button', class: 'weui-btn weui-btn_primary remind', onclick: pressRemind }, '一键提醒'),
      ),
      data.can_remind === false ? h('p', { class: 'hint remind-years' }, '一键提醒只用于本年度和上一年度的学习。') : null,
      lastResult ? h('div', { class: 'remind-result', role: 'status' }, lastResult.message) : null,
      correctionResult(),
      h('div', { class: 'weui-cells__title' }, `${data.filter_text}：${data.items.length} 人`),
      staffSection(data.items),
      movementsSection(data.year, data.movements),
      h('p', { class: 'hint center' }, h('a', { href: '/h5/help' }, '帮助与咨询方式')),
    ),
  ]);
}

boot('单位学时统计', load);
