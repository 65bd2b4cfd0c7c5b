// 忘记密码: a phone number or ID number, a code sent to the account's phone, a new password.
// It also lifts a lockout after too many wrong passwords, activates a roster account that
// was never activated, and ends every session of the account; then the trainee logs in.
import { resetPassword, sendResetCode } from '../api/recovery.js';
import { h, page, params, toast, topTips } from '../core/ui.js';
import { safeNext } from './account-forms.js';
import { busy, codeButton, codeInput, codeProblem, contactsBlock, fieldSet, formShell, newPasswordProblems, PASSWORD_RULE, showProblems, textInput } from './sms-form.js';

const q = params();
const next = safeNext(q.get('next'));
const LOGIN_URL = `/h5/login?next=${encodeURIComponent(next)}`;

function usernameProblem(value) {
  if (!value) return '请输入手机号或身份证号码';
  if (/^\d{17}x$/.test(value)) return '身份证号码中的字母 X 请大写';
  return /^(\d{11}|\d{17}[\dX])$/.test(value) ? '' : '请输入 11 位手机号或 18 位身份证号码';
}

function show() {
  const form = fieldSet();
  const note = h('div', { class: 'weui-cells__tips', id: 'code-sent', hidden: true, style: { color: '#06ae56', padding: '4px 16px 8px', textAlign: 'left' } });
  const username = textInput('username', { placeholder: '手机号或身份证号码', maxlength: 18, autocomplete: 'username', value: q.get('username') || '' });
  const code = codeInput();
  const pw1 = textInput('new_password', { type: 'password', placeholder: '8～64 位，含英文字母和数字', maxlength: 64, autocomplete: 'new-password' });
  const pw2 = textInput('new_password2', { type: 'password', placeholder: '再次输入新密码', maxlength: 64, autocomplete: 'new-password' });
  const showError = (err) => {
    const name = err && form.has(err.field) ? err.field : err && String(err.code || '').startsWith('sms_') ? 'username' : '';
    if (!(name && form.show(name, err.message))) topTips((err && err.message) || '操作失败，请稍后再试');
  };
  const sendButton = codeButton({
    note,
    send: () => {
      form.clear();
      const value = username.value.trim();
      const problem = usernameProblem(value);
      if (problem) {
        form.show('username', problem);
        return null;
      }
      return sendResetCode(value);
    },
    onError: showError,
  });
  const submit = h('button', { type: 'submit', class: 'weui-btn weui-btn_primary', id: 'submit' }, '重置密码');
  const onSubmit = async () => {
    if (submit.disabled) return;
    form.clear();
    const problems = [
      ['username', usernameProblem(username.value.trim())],
      ['sms_code', codeProblem(code.value.trim())],
      ...newPasswordProblems(pw1.value, pw2.value),
    ];
    if (showProblems(form, problems)) return;
    busy(submit, true);
    try {
      await resetPassword(username.value.trim(), code.value.trim(), pw1.value);
      toast('密码已重置，请使用新密码登录', { ms: 1800 });
      setTimeout(() => window.location.assign(LOGIN_URL), 1200);
    } catch (err) {
      showError(err);
    } finally {
      busy(submit, false);
    }
  };
  page(
    '忘记密码',
    formShell({
      title: '忘记密码',
      desc: '输入注册时的手机号或身份证号码，验证码将发送至账号登记的手机。重置密码后，账号在其他设备上的登录将全部退出，并解除原微信绑定：请在公众号菜单中重新登录并绑定微信，以便继续收到学习通知。',
      cells: [
        form.field('username', '用户名', username),
        form.field('sms_code', '验证码', code, sendButton),
        note,
        form.field('new_password', '新密码', pw1),
        form.field('new_password2', '确认新密码', pw2),
      ],
      submit,
      onSubmit,
      after: [h('p', { class: 'hint' }, PASSWORD_RULE), h('p', { class: 'hint' }, h('a', { href: LOGIN_URL, id: 'back-to-login' }, '返回登录')), contactsBlock()],
    }),
  );
}

show();
