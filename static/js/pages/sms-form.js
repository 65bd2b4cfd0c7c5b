// Pieces of the two SMS pages (激活账号, 忘记密码): fields whose mistakes show under them, the
// 获取验证码 button with its 60-second countdown, the note saying where the code went, and the
// contacts for a roster phone that is missing or wrong (the seed notice's numbers).
import { h } from '../core/ui.js';

export const PASSWORD_RULE = '新密码为 8～64 位，须同时包含英文字母和数字，不能包含身份证号码后六位';

export const CONTACTS = [
  '同一手机号每分钟最多接收 1 条、每天最多 10 条验证码，超出后不再发送；已收到的验证码 5 分钟内仍可使用。',
  '手机号不正确或已停用、收不到验证码？请联系所在单位核实登记的手机号，或咨询：',
  '重庆市人力资源开发服务中心 400-023-9229，按 1 选择登录注册问题',
  '垫江县学员：垫江县人力资源和社会保障局 023-74606177',
  '也可通过首页在线客服联系管理员',
];

export function contactsBlock(id = 'contacts') {
  return h(
    'div',
    { class: 'weui-footer', id, style: { padding: '12px 16px', textAlign: 'left' } },
    CONTACTS.map((line) => h('p', { class: 'weui-footer__text', style: { textAlign: 'left' } }, line)),
  );
}

/** A form whose fields show their own mistakes: `field(name, label, input, ft)` adds one. */
export function fieldSet() {
  const fields = {};
  const field = (name, label, input, ft = null) => {
    const error = h('div', { class: 'field-error', id: `err-${name}`, role: 'alert', hidden: true, style: { color: '#fa5151', fontSize: '13px', padding: '0 16px 8px' } });
    const cell = h(
      'label',
      { class: 'weui-cell weui-cell_active', id: `cell-${name}` },
      h('div', { class: 'weui-cell__hd' }, h('span', { class: 'weui-label' }, label)),
      h('div', { class: 'weui-cell__bd' }, input),
      ft ? h('div', { class: 'weui-cell__ft' }, ft) : null,
    );
    fields[name] = { cell, error };
    return [cell, error];
  };
  const show = (name, message) => {
    const f = fields[name];
    if (!f) return false;
    f.cell.classList.add('weui-cell_warn');
    f.error.textContent = message;
    f.error.hidden = false;
    return true;
  };
  const clear = () => {
    for (const f of Object.values(fields)) {
      f.cell.classList.remove('weui-cell_warn');
      f.error.hidden = true;
      f.error.textContent = '';
    }
  };
  return { field, show, clear, has: (name) => Boolean(fields[name]) };
}

export function textInput(name, attrs) {
  return h('input', { class: 'weui-input', name, id: name, ...attrs });
}

export function codeInput() {
  return textInput('sms_code', { type: 'text', inputmode: 'numeric', placeholder: '6 位短信验证码', maxlength: 6, autocomplete: 'one-time-code' });
}

/** The local rule of a new password (the server's is the same, and also refuses the ID
 * number's last six): a message, or ''. */
export function passwordProblem(value, confirm) {
  if (!value) return '请设置新密码';
  if (value.length < 8 || value.length > 64) return '新密码长度应为 8～64 位';
  if (!/[A-Za-z]/.test(value) || !/[0-9]/.test(value)) return '新密码须同时包含英文字母和数字';
  if (confirm !== undefined && value !== confirm) return '两次输入的新密码不一致';
  return '';
}

/** The two new-password fields' problems, as [field, message] pairs (empty when none). */
export function newPasswordProblems(pw1, pw2) {
  return [
    ['new_password', passwordProblem(pw1)],
    ['new_password2', pw1 && pw1 !== pw2 ? '两次输入的新密码不一致' : ''],
  ];
}

/** Show each [field, message] with a message under its field; whether there was any. */
export function showProblems(form, problems) {
  const found = problems.filter(([, message]) => message);
  found.forEach(([name, message]) => form.show(name, message));
  return found.length > 0;
}

export function codeProblem(value) {
  if (!value) return '请填写短信验证码';
  return /^\d{6}$/.test(value) ? '' : '短信验证码应为 6 位数字';
}

/**
 * 获取验证码: `send()` returns the sent code ({phoneTail, resendAfterS, expiresInS}); the note
 * then says where it went, and the button counts down. `onError(err)` shows a failure.
 */
export function codeButton({ send, note, onError }) {
  let timer = null;
  const button = h('button', { type: 'button', class: 'weui-btn weui-btn_mini weui-btn_default', id: 'send-code', style: { margin: 0, whiteSpace: 'nowrap' } }, '获取验证码');
  const countdown = (seconds) => {
    let left = Math.max(1, Math.round(seconds));
    button.disabled = true;
    button.textContent = `${left} 秒后重发`;
    clearInterval(timer);
    timer = setInterval(() => {
      left -= 1;
      if (left > 0) {
        button.textContent = `${left} 秒后重发`;
        return;
      }
      clearInterval(timer);
      button.disabled = false;
      button.textContent = '重新获取';
    }, 1000);
  };
  button.addEventListener('click', async (e) => {
    e.preventDefault();
    if (button.disabled) return;
    button.disabled = true;
    try {
      const sent = await send();
      if (!sent) {
        button.disabled = false;
        return;
      }
      note.textContent = `验证码已发送至尾号 ${sent.phoneTail} 的手机，${Math.round(sent.expiresInS / 60)} 分钟内有效。`;
      note.hidden = false;
      countdown(sent.resendAfterS);
    } catch (err) {
      button.disabled = false;
      const retry = Number(err && err.body && err.body.retry_after);
      if (err && err.code === 'sms_too_soon' && retry > 0 && retry <= 120) countdown(retry);
      onError(err);
    }
  });
  return button;
}

export function busy(button, on) {
  button.classList.toggle('weui-btn_loading', on);
  button.classList.toggle('weui-btn_disabled', on);
  button.disabled = on;
}

/** A WeUI form: title, description, cells, the submit button, and what goes below. */
export function formShell({ title, desc, cells, submit, onSubmit, after = [] }) {
  const node = h(
    'form',
    { class: 'weui-form', novalidate: true, onsubmit: (e) => { e.preventDefault(); onSubmit(); } },
    h('div', { class: 'weui-form__text-area' }, h('h2', { class: 'weui-form__title' }, title), desc ? h('div', { class: 'weui-form__desc', id: 'form-desc' }, desc) : null),
    h('div', { class: 'weui-form__control-area' }, h('div', { class: 'weui-cells__group weui-cells__group_form' }, h('div', { class: 'weui-cells weui-cells_form' }, cells))),
    h('div', { class: 'weui-form__opr-area' }, submit),
    h('div', { class: 'weui-form__extra-area' }, after),
  );
  return node;
}
