// 自主注册: 姓名, 身份证号码, 手机号 with an SMS code, 单位 (or 档案所在区县), 密码. Each mistake
// shows under its own field. Inside WeChat (after 网页授权) the new account is bound to this
// WeChat user. An ID number or phone already registered is sent to 忘记密码.
import { districtsPublic, register, searchUnitsPublic, sendRegisterCode } from '../api/register.js';
import { alertDialog, h, page, params, toast, topTips } from '../core/ui.js';
import { safeNext } from './account-forms.js';
import { genderOf, idNumberProblem, nameProblem, passwordProblem, phoneProblem } from './register-rules.js';
import { unitSearch } from './unit-search.js';

const q = params();
const next = safeNext(q.get('next'));
const FORGOT_URL = `/h5/forgot?next=${encodeURIComponent(next)}`;
const LOGIN_URL = `/h5/login?next=${encodeURIComponent(next)}`;
const PASSWORD_RULE = '密码为 8～64 位，须同时包含英文字母和数字，不能包含身份证号码后六位';

// field -> { cell, error } so a message lands under the field the server names.
const fields = {};

function fieldCell(field, label, input, { ft = null, hint = '' } = {}) {
  const error = errorNode(field);
  const cell = h(
    'label',
    { class: ft ? 'weui-cell weui-cell_active weui-cell_vcode' : 'weui-cell weui-cell_active', id: `cell-${field}` },
    h('div', { class: 'weui-cell__hd' }, h('span', { class: 'weui-label' }, label)),
    h('div', { class: 'weui-cell__bd' }, input),
    ft ? h('div', { class: 'weui-cell__ft' }, ft) : null,
  );
  const hintNode = hint ? h('div', { class: 'weui-cells__tips', style: { paddingBottom: '8px' } }, hint) : null;
  fields[field] = { cell, error };
  return [cell, error, hintNode];
}

function errorNode(field) {
  return h('div', { class: 'weui-cells__tips weui-cells__tips_warn field-error', id: `err-${field}`, role: 'alert', hidden: true, style: { paddingBottom: '8px' } });
}

function input(field, attrs) {
  return h('input', { class: 'weui-input', name: field, id: field, ...attrs });
}

function showError(field, message, extra = null) {
  const f = fields[field];
  if (!f) return topTips(message);
  f.cell.classList.add('weui-cell_warn');
  f.error.replaceChildren(message, extra ? h('span', {}, ' ', extra) : '');
  f.error.hidden = false;
  return f.cell.scrollIntoView({ block: 'center' });
}

function clearErrors() {
  for (const f of Object.values(fields)) {
    f.cell.classList.remove('weui-cell_warn');
    f.error.hidden = true;
    f.error.replaceChildren();
  }
  document.getElementById('taken')?.remove();
}

function busy(button, on) {
  button.classList.toggle('weui-btn_loading', on);
  button.classList.toggle('weui-btn_disabled', on);
  button.disabled = on;
}

function codeButton(getPhone, sentNote) {
  let timer = null;
  const button = h('button', { type: 'button', class: 'weui-btn_reset weui-vcode-btn', id: 'send-code', style: { fontSize: '14px', padding: '0 8px', whiteSpace: 'nowrap' } }, '获取验证码');
  const countdown = (seconds) => {
    let left = seconds;
    button.disabled = true;
    button.textContent = `${left}s 后重新获取`;
    clearInterval(timer);
    timer = setInterval(() => {
      left -= 1;
      if (left <= 0) {
        clearInterval(timer);
        button.disabled = false;
        button.textContent = '获取验证码';
      } else button.textContent = `${left}s 后重新获取`;
    }, 1000);
  };
  button.addEventListener('click', async (e) => {
    e.preventDefault();
    if (button.disabled) return;
    clearErrors();
    const phone = getPhone();
    const problem = phoneProblem(phone);
    if (problem) return showError('phone', problem);
    button.disabled = true;
    try {
      const sent = await sendRegisterCode(phone);
      sentNote.textContent = `验证码已发送至尾号 ${sent.phoneTail} 的手机，${Math.round(sent.expiresInS / 60)} 分钟内有效`;
      sentNote.hidden = false;
      countdown(sent.resendAfterS);
    } catch (err) {
      button.disabled = false;
      const retry = Number(err.body && err.body.retry_after);
      if (err.status === 429 && retry > 0 && retry <= 120) countdown(retry);
      showError('phone', err.message); // a wrong number, too many codes, or the SMS service
    }
  });
  return button;
}

function unitChooser(districtList) {
  const search = input('unit_q', { id: 'unit-q', placeholder: '输入单位名称查找', maxlength: 100, autocomplete: 'off' });
  const district = h('select', { class: 'weui-select', id: 'archive_district', name: 'archive_district' }, h('option', { value: '' }, '请选择档案所在区县'), districtList.map((d) => h('option', { value: d }, d)));
  const { results, chosen: chosenUnit } = unitSearch({ find: searchUnitsPublic, input: search });
  const districtCell = h(
    'div',
    { class: 'weui-cell weui-cell_select weui-cell_select-after', id: 'cell-archive_district' },
    h('div', { class: 'weui-cell__hd' }, h('span', { class: 'weui-label' }, '档案区县')),
    h('div', { class: 'weui-cell__bd' }, district),
  );
  const districtError = errorNode('archive_district');
  fields.archive_district = { cell: districtCell, error: districtError };
  return {
    value: () => (chosenUnit() ? { unit_id: Number(chosenUnit().id) } : district.value ? { archive_district: district.value } : {}),
    unitCells: fieldCell('unit_id', '单位', search),
    results,
    districtCells: [districtCell, districtError],
  };
}

/** A titled block of cells, with an optional tip under it. */
function group(title, cells, tip = null) {
  return h('div', { class: 'weui-cells__group weui-cells__group_form' }, h('div', { class: 'weui-cells__title' }, title), h('div', { class: 'weui-cells weui-cells_form' }, cells), tip);
}

function takenNotice(err) {
  const what = err.field === 'phone' ? '该手机号' : '该身份证号码';
  return h(
    'div',
    { class: 'notice err', id: 'taken', role: 'alert' },
    `${what}已注册，请直接登录。`,
    h('a', { href: FORGOT_URL, id: 'forgot-link', style: { color: '#576b95' } }, '忘记密码？'),
    ' 用手机验证码找回；手机号已变更的，请联系单位或客服 400-023-9229。',
  );
}

async function show() {
  let districtList = [];
  try {
    districtList = await districtsPublic();
  } catch {
    districtList = [];
  }
  const sentNote = h('div', { class: 'weui-cells__tips', id: 'code-sent', hidden: true, style: { color: '#06ae56', paddingBottom: '8px' } });
  const name = input('name', { placeholder: '与身份证上的姓名一致', maxlength: 50, autocomplete: 'name' });
  const idNumber = input('id_number', { placeholder: '18 位，字母 X 须大写', maxlength: 18, autocomplete: 'off' });
  const genderNote = h('div', { class: 'weui-cells__tips', id: 'gender-note', style: { paddingBottom: '8px' } }, '身份证号码含 X 的，必须大写；性别按身份证号码确定');
  idNumber.addEventListener('input', () => {
    const v = idNumber.value.trim();
    genderNote.textContent = v.length === 18 && !idNumberProblem(v) ? `性别：${genderOf(v)}（按身份证号码确定）` : '身份证号码含 X 的，必须大写；性别按身份证号码确定';
  });
  const phone = input('phone', { type: 'tel', placeholder: '11 位手机号', maxlength: 11, autocomplete: 'tel' });
  const smsCode = input('sms_code', { type: 'text', inputmode: 'numeric', placeholder: '6 位数字', maxlength: 6, autocomplete: 'one-time-code' });
  const password = input('password', { type: 'password', placeholder: '8～64 位，含英文字母和数字', maxlength: 64, autocomplete: 'new-password' });
  const password2 = input('password2', { type: 'password', placeholder: '再次输入密码', maxlength: 64, autocomplete: 'new-password' });
  const units = unitChooser(districtList);
  const submit = h('button', { type: 'submit', class: 'weui-btn weui-btn_primary', id: 'submit' }, '注册');

  const values = () => ({
    name: name.value.trim(),
    id_number: idNumber.value.trim(),
    phone: phone.value.trim(),
    sms_code: smsCode.value.trim(),
    password: password.value,
    ...units.value(),
  });

  const localProblem = (body) => {
    const checks = [
      ['name', nameProblem(body.name)],
      ['id_number', idNumberProblem(body.id_number)],
      ['phone', phoneProblem(body.phone)],
      ['sms_code', body.sms_code ? (/^\d{6}$/.test(body.sms_code) ? '' : '短信验证码应为 6 位数字') : '请填写短信验证码'],
      ['unit_id', body.unit_id || body.archive_district ? '' : '请选择单位；若查找不到贵单位，请选择档案所在区县'],
      ['password', passwordProblem(body.password, body.id_number)],
      ['password2', body.password === password2.value ? '' : '两次输入的密码不一致'],
    ];
    return checks.find(([, message]) => message);
  };

  const form = h(
    'form',
    {
      class: 'weui-form',
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        if (submit.disabled) return;
        clearErrors();
        const body = values();
        const problem = localProblem(body);
        if (problem) return showError(problem[0], problem[1]);
        busy(submit, true);
        try {
          const done = await register(body);
          if (done.wechatBoundElsewhere) await alertDialog('注册成功。当前微信已绑定其他账号，未绑定到新账号；如需绑定到新账号，请先登录原账号，在“个人信息”中点击“解除微信绑定”。', '注册成功');
          else toast(done.wechatBound ? '注册成功，已绑定微信' : '注册成功');
          setTimeout(() => window.location.assign(next), done.wechatBoundElsewhere ? 0 : 800);
        } catch (err) {
          if (err.code === 'already_registered') {
            showError(err.field || 'id_number', err.message);
            form.querySelector('.weui-form__opr-area').before(takenNotice(err));
          } else if (err.field) showError(err.field === 'body' ? 'name' : err.field, err.message);
          else topTips(err.message || '注册失败，请稍后再试');
        } finally {
          busy(submit, false);
        }
      },
    },
    h(
      'div',
      { class: 'weui-form__text-area' },
      h('h2', { class: 'weui-form__title' }, '自主注册'),
      h('div', { class: 'weui-form__desc' }, '注册信息将作为合格证书的重要数据，请谨慎填写，确保信息的真实准确。'),
    ),
    h(
      'div',
      { class: 'weui-form__control-area' },
      group('个人信息', [
        fieldCell('name', '姓名', name, { hint: '姓名中间不能有空格和符号' }),
        fieldCell('id_number', '身份证号码', idNumber),
        genderNote,
        fieldCell('phone', '手机号', phone),
        fieldCell('sms_code', '验证码', smsCode, { ft: codeButton(() => phone.value.trim(), sentNote) }),
        sentNote,
      ]),
      group('单位（组织机构选择贵单位，若查找不到贵单位，请选择您档案所在区县）', [units.unitCells, units.results, units.districtCells]),
      group('设置密码', [fieldCell('password', '密码', password), fieldCell('password2', '确认密码', password2)], h('div', { class: 'weui-cells__tips', id: 'password-rule' }, PASSWORD_RULE)),
    ),
    h('div', { class: 'weui-form__opr-area' }, submit),
    h(
      'div',
      { class: 'weui-form__extra-area' },
      h('p', { class: 'hint', style: { textAlign: 'center' } }, h('a', { href: LOGIN_URL, id: 'login-link' }, '已有账号？去登录'), '　', h('a', { href: FORGOT_URL }, '忘记密码')),
      h('div', { class: 'weui-footer' }, h('p', { class: 'weui-footer__text' }, '账号注册、登录问题咨询：400-023-9229，按 1 选择登录注册问题')),
    ),
  );
  page('自主注册', form);
}

show();
