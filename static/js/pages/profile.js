// 个人信息: what the account says (姓名, masked 身份证号码 and 手机号, 单位, 档案所在区县), and
// what the trainee changes themself: the unit (searched in the unit list), the 档案所在区县 and
// the phone (an SMS code to the new phone, 60 s before another). Name and ID number are
// corrected only by the unit or customer service; the page says whom to call. After a unit
// change, 刷新证书 on 我的证书 puts it on the certificate. For a unit's administrator, the way
// to 单位学时统计 (/h5/unit). At the bottom, the account itself: 修改密码, 解除微信绑定 (when
// bound) and 退出登录.
import { logout, me, unbindWechat } from '../api/auth.js';
import { changePhone, districts, myChanges, searchUnits, sendPhoneCode, updateProfile } from '../api/profile.js';
import { myUnit } from '../api/units.js';
import { alertDialog, boot, confirmDialog, dateText, h, page, toast } from '../core/ui.js';
import { busy } from './sms-form.js';
import { unitSearch } from './unit-search.js';

const SERVICE = '400-023-9229（按 1 选择登录注册问题）';
const FIELD_NAMES = { unit: '单位', archive_district: '档案所在区县', name: '姓名', id_number: '身份证号码', phone: '手机号' };

const maskPhone = (p) => (p && p.length >= 8 ? `${p.slice(0, 3)}****${p.slice(-4)}` : p || '');

function infoCell(label, value, id) {
  return h(
    'div',
    { class: 'weui-cell' },
    h('div', { class: 'weui-cell__hd' }, h('span', { class: 'weui-label' }, label)),
    h('div', { class: 'weui-cell__bd', id }, value || h('span', { class: 'meta' }, '未填写')),
  );
}

function fieldError(id) {
  return h('div', { class: 'field-error', id, role: 'alert', hidden: true, style: { color: '#fa5151', fontSize: '13px', padding: '0 16px 8px' } });
}

function showFieldError(node, message) {
  node.textContent = message;
  node.hidden = false;
}

// A 区县's own office, for its trainees only (the seed notice is 垫江县's; elsewhere the
// number would send people to the wrong office).
const LOCAL_CONTACTS = { 垫江县: '垫江县人力资源和社会保障局：023-74606177' };
const localContact = (profile) => {
  const line = LOCAL_CONTACTS[profile.unit?.district || profile.archive_district];
  return line ? `；${line}` : '';
};

/** A unit's administrator who leaves it stops being its administrator: say so first. */
const leaveAdmin = async (adminOf, newUnitId) =>
  !adminOf ||
  Number(adminOf.id) === Number(newUnitId) ||
  confirmDialog(`您是“${adminOf.name}”的单位管理员。变更单位后，将不再是该单位的管理员，不能再查看其学时统计、更正其人员信息；如需管理新单位，请联系平台客服授权。`, '变更单位', '仍要变更');

/** 变更单位: search the unit list, pick one, save. */
function unitSection(profile, adminOf) {
  const error = fieldError('err-unit');
  const search = h('input', { class: 'weui-input', id: 'unit-q', placeholder: '输入新单位名称查找', maxlength: 100, autocomplete: 'off' });
  const { results, chosen: chosenUnit } = unitSearch({ find: searchUnits, input: search, onInput: () => (error.hidden = true) });
  const save = h('button', { type: 'button', class: 'weui-btn weui-btn_primary', id: 'save-unit' }, '保存单位');
  save.addEventListener('click', async () => {
    const chosen = chosenUnit();
    if (!chosen) return showFieldError(error, '请先查找并选择新单位');
    if (profile.unit && Number(chosen.id) === Number(profile.unit.id)) return showFieldError(error, '所选单位与当前单位相同');
    if (!(await leaveAdmin(adminOf, chosen.id))) return;
    busy(save, true);
    try {
      const saved = await updateProfile({ unit_id: Number(chosen.id) });
      toast('单位已更新');
      await load({ saved: 'unit', adminEnded: saved.unit_admin_ended });
    } catch (err) {
      if (!err.redirecting) showFieldError(error, err.message);
    } finally {
      busy(save, false);
    }
  });
  // 单位不在列表中: the certificate then shows the 档案所在区县, which must be chosen first.
  const clear = profile.unit
    ? h('button', { type: 'button', class: 'link-btn', id: 'clear-unit' }, '单位不在列表中？清除单位，证书改为显示档案所在区县')
    : null;
  clear?.addEventListener('click', async () => {
    if (!profile.archive_district) return showFieldError(error, '请先在下方选择并保存档案所在区县，再清除单位');
    if (!(await confirmDialog(`清除单位“${profile.unit.name}”后，证书将显示档案所在区县“${profile.archive_district}”。`, '清除单位', '清除'))) return;
    if (!(await leaveAdmin(adminOf, null))) return;
    try {
      const saved = await updateProfile({ unit_id: null });
      toast('已清除单位');
      await load({ saved: 'unit', adminEnded: saved.unit_admin_ended });
    } catch (err) {
      if (!err.redirecting) showFieldError(error, err.message);
    }
  });
  return [
    h('div', { class: 'weui-cells__title' }, '变更单位（组织机构选择贵单位，若查找不到贵单位，请选择您档案所在区县）'),
    h('div', { class: 'weui-cells weui-cells_form' }, h('label', { class: 'weui-cell weui-cell_active' }, h('div', { class: 'weui-cell__hd' }, h('span', { class: 'weui-label' }, '新单位')), h('div', { class: 'weui-cell__bd' }, search))),
    results,
    error,
    h('div', { class: 'weui-btn-area' }, save),
    clear ? h('p', { class: 'hint' }, clear) : null,
  ];
}

/** 档案所在区县: one of the 38 区县 of 重庆市. */
function districtSection(profile, districtList) {
  const error = fieldError('err-archive_district');
  const select = h(
    'select',
    { class: 'weui-select', id: 'archive-district' },
    h('option', { value: '' }, '请选择档案所在区县'),
    districtList.map((d) => h('option', { value: d, selected: d === profile.archive_district }, d)),
  );
  const save = h('button', { type: 'button', class: 'weui-btn weui-btn_default', id: 'save-district' }, '保存档案所在区县');
  save.addEventListener('click', async () => {
    if (!select.value) return showFieldError(error, '请选择档案所在区县');
    busy(save, true);
    try {
      await updateProfile({ archive_district: select.value });
      toast('已保存');
      await load({ saved: 'district' });
    } catch (err) {
      if (!err.redirecting) showFieldError(error, err.message);
    } finally {
      busy(save, false);
    }
  });
  return [
    h('div', { class: 'weui-cells__title' }, '档案所在区县'),
    h('div', { class: 'weui-cells weui-cells_form' }, h('div', { class: 'weui-cell weui-cell_select weui-cell_select-after' }, h('div', { class: 'weui-cell__hd' }, h('span', { class: 'weui-label' }, '区县')), h('div', { class: 'weui-cell__bd' }, select))),
    error,
    h('div', { class: 'weui-btn-area' }, save),
  ];
}

/** 更换手机号: the code goes to the new phone; 60 s before another can be asked for. */
function phoneSection(profile) {
  const error = fieldError('err-phone');
  const sentNote = h('div', { class: 'weui-cells__tips', id: 'code-sent', hidden: true, style: { color: '#06ae56' } });
  const phone = h('input', { class: 'weui-input', id: 'new-phone', type: 'tel', placeholder: '新手机号（11 位）', maxlength: 11, autocomplete: 'tel' });
  const code = h('input', { class: 'weui-input', id: 'sms-code', type: 'text', inputmode: 'numeric', placeholder: '6 位短信验证码', maxlength: 6, autocomplete: 'one-time-code' });
  const password = h('input', { class: 'weui-input', id: 'phone-password', type: 'password', placeholder: '当前登录密码', maxlength: 64, autocomplete: 'current-password' });
  const sendButton = h('button', { type: 'button', class: 'weui-btn weui-btn_mini weui-btn_default', id: 'send-code', style: { margin: 0 } }, '获取验证码');
  let timer = null;
  const countdown = (seconds) => {
    let left = seconds;
    sendButton.disabled = true;
    sendButton.textContent = `重新获取(${left}s)`;
    clearInterval(timer);
    timer = setInterval(() => {
      left -= 1;
      if (left <= 0) {
        clearInterval(timer);
        sendButton.disabled = false;
        sendButton.textContent = '获取验证码';
      } else sendButton.textContent = `重新获取(${left}s)`;
    }, 1000);
  };
  const phoneValue = () => phone.value.trim();
  const phoneProblem = (p) => (/^1[3-9]\d{9}$/.test(p) ? (p === profile.phone ? '新手机号与当前手机号相同' : '') : '请输入 11 位中国大陆手机号');
  sendButton.addEventListener('click', async () => {
    if (sendButton.disabled) return;
    error.hidden = true;
    const problem = phoneProblem(phoneValue());
    if (problem) return showFieldError(error, problem);
    sendButton.disabled = true;
    try {
      const sent = await sendPhoneCode(phoneValue());
      sentNote.textContent = `验证码已发送至尾号 ${sent.phoneTail} 的手机，${Math.round(sent.expiresInS / 60)} 分钟内有效`;
      sentNote.hidden = false;
      countdown(sent.resendAfterS);
    } catch (err) {
      sendButton.disabled = false;
      if (err.redirecting) return;
      const retry = Number(err.body && err.body.retry_after);
      if (err.status === 429 && retry > 0 && retry <= 120) countdown(retry);
      showFieldError(error, err.message);
    }
  });
  const submit = h('button', { type: 'button', class: 'weui-btn weui-btn_primary', id: 'save-phone' }, '更换手机号');
  submit.addEventListener('click', async () => {
    error.hidden = true;
    const problem = phoneProblem(phoneValue());
    if (problem) return showFieldError(error, problem);
    if (!/^\d{6}$/.test(code.value.trim())) return showFieldError(error, '请填写 6 位短信验证码');
    if (!password.value) return showFieldError(error, '请输入当前登录密码');
    busy(submit, true);
    try {
      await changePhone(phoneValue(), code.value.trim(), password.value);
      clearInterval(timer);
      toast('手机号已更换');
      await load({ saved: 'phone' });
    } catch (err) {
      if (!err.redirecting) showFieldError(error, err.message);
    } finally {
      busy(submit, false);
    }
  });
  return [
    h('div', { class: 'weui-cells__title' }, '更换手机号（验证码发送至新手机号，并输入当前登录密码；更换后用新手机号登录）'),
    h(
      'div',
      { class: 'weui-cells weui-cells_form' },
      h('label', { class: 'weui-cell weui-cell_active' }, h('div', { class: 'weui-cell__hd' }, h('span', { class: 'weui-label' }, '新手机号')), h('div', { class: 'weui-cell__bd' }, phone), h('div', { class: 'weui-cell__ft' }, sendButton)),
      h('label', { class: 'weui-cell weui-cell_active' }, h('div', { class: 'weui-cell__hd' }, h('span', { class: 'weui-label' }, '验证码')), h('div', { class: 'weui-cell__bd' }, code)),
      h('label', { class: 'weui-cell weui-cell_active' }, h('div', { class: 'weui-cell__hd' }, h('span', { class: 'weui-label' }, '登录密码')), h('div', { class: 'weui-cell__bd' }, password)),
    ),
    sentNote,
    error,
    h('div', { class: 'weui-btn-area' }, submit),
  ];
}

const ACCOUNT_NOTICES = {
  unbound: ['notice ok', '已解除微信绑定。再次在微信中打开时，需输入账号密码重新绑定。'],
  'not-bound': ['notice', '当前账号未绑定微信，无需解除。'],
};

/** 账号与安全: 修改密码, 解除微信绑定 (only when bound), 退出登录 (each after a confirm). */
function accountSection(profile, saved) {
  const error = fieldError('err-account');
  const notice = ACCOUNT_NOTICES[saved];
  // Until /api/me says whether the account is bound, the action is offered and the
  // server's answer (was_bound) tells.
  const bound = profile.wechat_bound !== false;
  const unbind = async (e) => {
    e.preventDefault();
    const ok = await confirmDialog('解除后，在微信中打开需重新输入账号密码绑定，微信支付前也需重新绑定；其他设备上的登录将失效。', '解除微信绑定', '解除绑定');
    if (!ok) return;
    error.hidden = true;
    try {
      const { wasBound } = await unbindWechat();
      await load({ saved: wasBound ? 'unbound' : 'not-bound' });
    } catch (err) {
      if (!err.redirecting) showFieldError(error, err.message);
    }
  };
  const quit = async () => {
    if (!(await confirmDialog('退出后需重新登录才能继续学习。', '确定退出登录？', '退出登录'))) return;
    try {
      await logout();
      window.location.replace('/h5/login'); // Back does not return to this page
    } catch (err) {
      await alertDialog(err.message, '退出失败');
    }
  };
  const access = (attrs, label, note) =>
    h('a', { class: 'weui-cell weui-cell_access', ...attrs }, h('div', { class: 'weui-cell__bd' }, label), h('div', { class: 'weui-cell__ft' }, note));
  return [
    h('div', { class: 'weui-cells__title' }, '账号与安全'),
    h(
      'div',
      { class: 'weui-cells', id: 'account-actions' },
      access({ href: `/h5/login?change=1&next=${encodeURIComponent('/h5/profile')}`, id: 'change-password' }, '修改密码'),
      bound ? access({ href: '#', role: 'button', id: 'unbind-wechat', onclick: unbind }, '解除微信绑定', profile.wechat_bound ? '已绑定' : '') : null,
    ),
    notice ? h('div', { class: notice[0], id: 'account-notice', role: 'status' }, notice[1]) : null,
    error,
    h('div', { class: 'weui-btn-area' }, h('button', { type: 'button', class: 'weui-btn weui-btn_warn', id: 'logout', onclick: quit }, '退出登录')),
  ];
}

/** 单位管理 for a unit's administrator: the way to the unit's 应训未训 page. */
function adminSection(unit) {
  return [
    h('div', { class: 'weui-cells__title' }, '单位管理'),
    h(
      'div',
      { class: 'weui-cells' },
      h(
        'a',
        { class: 'weui-cell weui-cell_access', href: '/h5/unit', id: 'unit-page' },
        h('div', { class: 'weui-cell__bd' }, '单位学时统计（应训未训）'),
        h('div', { class: 'weui-cell__ft' }, unit.name),
      ),
    ),
  ];
}

function changeText(c) {
  const label = FIELD_NAMES[c.field] || c.field;
  const from = c.old || '未填写';
  const to = c.new || '未填写';
  const by = c.by && c.by !== '本人' ? `（${c.by}更正${c.reason ? `，理由：${c.reason}` : ''}）` : '';
  return `${label}：${from} → ${to}${by}`;
}

function historySection(changes) {
  if (!changes.length) return null;
  return [
    h('div', { class: 'weui-cells__title' }, '变更记录'),
    h(
      'div',
      { class: 'weui-cells', id: 'changes' },
      changes.map((c) => h('div', { class: 'weui-cell change-item' }, h('div', { class: 'weui-cell__bd' }, h('p', {}, changeText(c)), h('p', { class: 'meta' }, dateText(c.changedAt))))),
    ),
  ];
}

async function load({ saved, adminEnded } = {}) {
  const profile = await me();
  if (saved === 'unbound' || saved === 'not-bound') profile.wechat_bound = false;
  const [districtList, changes, adminOf] = await Promise.all([
    districts().catch(() => []),
    myChanges().catch(() => []),
    // Only a unit's administrator has a unit to ask for (anyone else gets 403): /api/me says.
    profile.unit_admin ? myUnit({ loading: false }).catch(() => null) : null,
  ]);
  const unitText = profile.unit ? `${profile.unit.name}（${profile.unit.district}）` : '';
  page('个人信息', [
    h('div', { class: 'page-head' }, h('h1', {}, '个人信息'), h('p', {}, '注册信息将作为合格证书的重要数据，请确保真实准确。')),
    saved === 'unit' || saved === 'district'
      ? h('div', { class: 'notice ok', id: 'saved-notice' }, '已保存。已打印过证书的，请到', h('a', { href: '/h5/certificates' }, '“我的证书”'), '点击“刷新证书”，证书信息即可更新。')
      : null,
    adminEnded ? h('div', { class: 'notice', id: 'admin-ended' }, `您已不再是“${adminEnded.name}”的单位管理员。`) : null,
    h(
      'div',
      { class: 'weui-cells', id: 'profile-info' },
      infoCell('姓名', profile.name, 'info-name'),
      infoCell('身份证号码', profile.id_number_masked, 'info-id'),
      infoCell('手机号', maskPhone(profile.phone), 'info-phone'),
      infoCell('单位', unitText, 'info-unit'),
      infoCell('档案所在区县', profile.archive_district, 'info-district'),
    ),
    h(
      'div',
      { class: 'notice', id: 'identity-notice' },
      `姓名、身份证号码不能自行修改。如需更正，请联系所在单位的管理员办理，或致电客服 ${SERVICE}${localContact(profile)}。`,
    ),
    unitSection(profile, adminOf),
    districtSection(profile, districtList),
    phoneSection(profile),
    historySection(changes),
    h('p', { class: 'hint' }, '如涉及单位等信息变更，可于个人信息页面更新后，到', h('a', { href: '/h5/certificates' }, '“我的证书”'), '点击“刷新证书”，证书信息即可更新。'),
    adminOf ? adminSection(adminOf) : null,
    accountSection(profile, saved),
  ], { tab: '/h5/profile' });
}

boot('个人信息', load, { tab: '/h5/profile' });
