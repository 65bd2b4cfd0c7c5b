// 激活账号: a roster account logged in with its initial password (edu@ + the ID number's last
// six, which anyone holding the ID number knows) proves its roster phone by SMS and sets its
// own password. Until then the account shows nothing personal, only the masked phone.
import { activate, activationStatus, sendActivationCode } from '../api/recovery.js';
import { boot, h, page, params, toast, topTips } from '../core/ui.js';
import { safeNext } from './account-forms.js';
import { busy, codeButton, codeInput, codeProblem, contactsBlock, fieldSet, formShell, newPasswordProblems, PASSWORD_RULE, showProblems, textInput } from './sms-form.js';

const next = safeNext(params().get('next'));
const LOGIN_URL = `/h5/login?next=${encodeURIComponent(next)}`;

function noPhone() {
  page(
    '激活账号',
    h(
      'div',
      { class: 'weui-msg' },
      h('div', { class: 'weui-msg__icon-area' }, h('i', { class: 'weui-icon-info weui-icon_msg' })),
      h(
        'div',
        { class: 'weui-msg__text-area' },
        h('h2', { class: 'weui-msg__title' }, '账号未登记手机号'),
        h('p', { class: 'weui-msg__desc', id: 'no-phone' }, '激活账号需要向单位登记的手机号发送验证码，您的账号尚未登记手机号。请联系所在单位补充手机号后再激活。'),
      ),
      contactsBlock(),
    ),
  );
}

function show(status) {
  const form = fieldSet();
  const note = h('div', { class: 'weui-cells__tips', id: 'code-sent', hidden: true, style: { color: '#06ae56', padding: '4px 16px 8px', textAlign: 'left' } });
  const code = codeInput();
  const pw1 = textInput('new_password', { type: 'password', placeholder: '8～64 位，含英文字母和数字', maxlength: 64, autocomplete: 'new-password' });
  const pw2 = textInput('new_password2', { type: 'password', placeholder: '再次输入新密码', maxlength: 64, autocomplete: 'new-password' });
  const showError = (err) => {
    if (err && err.code === 'no_phone') return noPhone();
    if (err && err.code === 'already_activated') {
      toast('账号已激活');
      return setTimeout(() => window.location.assign(next), 600);
    }
    const name = err && err.field === 'new_password' ? 'new_password' : err && (err.field === 'sms_code' || String(err.code || '').startsWith('sms_')) ? 'sms_code' : '';
    if (!(name && form.show(name, err.message))) topTips((err && err.message) || '操作失败，请稍后再试');
  };
  const sendButton = codeButton({
    note,
    send: () => {
      form.clear();
      return sendActivationCode();
    },
    onError: showError,
  });
  const submit = h('button', { type: 'submit', class: 'weui-btn weui-btn_primary', id: 'submit' }, '激活账号');
  const onSubmit = async () => {
    if (submit.disabled) return;
    form.clear();
    const problems = [['sms_code', codeProblem(code.value.trim())], ...newPasswordProblems(pw1.value, pw2.value)];
    if (showProblems(form, problems)) return;
    busy(submit, true);
    try {
      await activate(code.value.trim(), pw1.value);
      toast('账号已激活');
      setTimeout(() => window.location.assign(next), 800);
    } catch (err) {
      if (err.status === 401) {
        topTips('登录已失效，请重新使用初始密码登录后激活');
        setTimeout(() => window.location.assign(LOGIN_URL), 1200);
      } else showError(err);
    } finally {
      busy(submit, false);
    }
  };
  page(
    '激活账号',
    formShell({
      title: '激活账号',
      desc: h(
        'span',
        {},
        '为保护您的个人信息，单位统一注册的账号首次登录，或客服为您设置临时密码后，须验证账号登记的手机号 ',
        h('b', { id: 'phone-masked' }, status.phoneMasked),
        '，并设置新密码。激活后初始密码（临时密码）失效，请牢记新密码。',
      ),
      cells: [
        form.field('sms_code', '验证码', code, sendButton),
        note,
        form.field('new_password', '新密码', pw1),
        form.field('new_password2', '确认新密码', pw2),
      ],
      submit,
      onSubmit,
      after: [h('p', { class: 'hint' }, PASSWORD_RULE), contactsBlock()],
    }),
  );
}

boot('激活账号', async () => {
  let status;
  try {
    status = await activationStatus();
  } catch (err) {
    if (err.status === 401) {
      window.location.assign(LOGIN_URL);
      return;
    }
    if (err.code === 'already_activated') {
      window.location.assign(next);
      return;
    }
    throw err;
  }
  if (!status.phoneMasked) noPhone();
  else show(status);
});
