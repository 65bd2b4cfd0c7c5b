// 绑定: after 网页授权 found no account for this WeChat user, the trainee logs in once and
// the WeChat account is bound, so later visits need no password. Only an activated account
// binds (the initial password does not); an account bound to another WeChat user needs a
// code sent to its phone as well (改绑), and that WeChat user is told.
import { bind, login, sendRebindCode } from '../api/auth.js';
import { dialog, h, page, params, toast, topTips } from '../core/ui.js';
import { safeNext, showCredentialsForm } from './account-forms.js';

const next = safeNext(params().get('next'));

/** Not an error to show: the page has moved on (another step, or another page). */
const handled = () => Object.assign(new Error(''), { redirecting: true });

function cell(label, control) {
  return h(
    'label',
    { class: 'weui-cell weui-cell_active' },
    h('div', { class: 'weui-cell__hd' }, h('span', { class: 'weui-label' }, label)),
    h('div', { class: 'weui-cell__bd' }, control),
  );
}

function busy(button, on) {
  button.classList.toggle('weui-btn_loading', on);
  button.classList.toggle('weui-btn_disabled', on);
  button.disabled = on;
}

/** 改绑: the SMS step, with the username and password already given. */
function showRebindStep(username, password, tail) {
  const code = h('input', { class: 'weui-input', name: 'sms_code', id: 'sms_code', type: 'text', inputmode: 'numeric', maxlength: 6, placeholder: '6 位短信验证码', autocomplete: 'one-time-code' });
  const note = h('p', { class: 'hint', id: 'sms-note' }, `点击“获取验证码”，验证码将发送至尾号 ${tail} 的手机。`);
  const send = h('button', { type: 'button', class: 'weui-btn weui-btn_mini weui-btn_default', id: 'send-code', style: { margin: 0 } }, '获取验证码');
  let timer = null;
  const countdown = (seconds) => {
    let left = seconds;
    send.disabled = true;
    send.textContent = `${left} 秒后重发`;
    timer = setInterval(() => {
      left -= 1;
      if (left > 0) {
        send.textContent = `${left} 秒后重发`;
        return;
      }
      clearInterval(timer);
      send.disabled = false;
      send.textContent = '获取验证码';
    }, 1000);
  };
  send.addEventListener('click', async () => {
    if (send.disabled) return;
    send.disabled = true;
    try {
      const sent = await sendRebindCode(username, password);
      note.textContent = `验证码已发送至尾号 ${sent.phone_tail} 的手机，${Math.round((sent.expires_in_s || 300) / 60)} 分钟内有效。`;
      countdown(sent.resend_after_s || 60);
    } catch (err) {
      send.disabled = false;
      topTips(err.message || '验证码发送失败，请稍后再试');
    }
  });
  const submit = h('button', { type: 'submit', class: 'weui-btn weui-btn_primary', id: 'submit' }, '验证并改绑');
  const form = h(
    'form',
    {
      class: 'weui-form',
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        if (submit.disabled) return;
        const value = code.value.trim();
        if (!/^\d{6}$/.test(value)) return topTips('请输入 6 位短信验证码');
        busy(submit, true);
        try {
          await bind(username, password, value);
          toast('已改绑到当前微信');
          setTimeout(() => window.location.assign(next), 600);
        } catch (err) {
          topTips(err.message || '改绑失败，请稍后再试');
        } finally {
          busy(submit, false);
        }
      },
    },
    h(
      'div',
      { class: 'weui-form__text-area' },
      h('h2', { class: 'weui-form__title' }, '改绑微信'),
      h('div', { class: 'weui-form__desc' }, `该账号已绑定其他微信。改绑到当前微信需验证账号手机（尾号 ${tail}）收到的短信验证码，原微信将收到改绑通知。`),
    ),
    h(
      'div',
      { class: 'weui-form__control-area' },
      h('div', { class: 'weui-cells__group weui-cells__group_form' }, h('div', { class: 'weui-cells weui-cells_form' }, cell('验证码', h('div', { class: 'sms-row', style: { display: 'flex', gap: '8px', alignItems: 'center' } }, code, send)))),
      note,
    ),
    h('div', { class: 'weui-form__opr-area' }, submit),
    h('div', { class: 'weui-form__extra-area' }, h('p', { class: 'hint' }, '手机号已变更的，请联系单位或客服 400-023-9229 办理改绑。')),
  );
  page('改绑微信', form);
}

async function bindOrNextStep(username, password) {
  try {
    return await bind(username, password);
  } catch (err) {
    if (err.code === 'rebind_needs_sms') {
      showRebindStep(username, password, err.body.phone_tail || '');
      throw handled();
    }
    if (err.code === 'activation_required') {
      const go = await dialog({ title: '账号尚未激活', text: err.message, buttons: ['取消', '去激活'] });
      if (go === 1) {
        // The initial password opens 激活账号 only; once activated, back through 网页授权
        // to bind this WeChat user with the new password.
        await login(username, password);
        const again = `/auth/wechat?next=${encodeURIComponent(next)}`;
        window.location.assign(`/h5/activate?next=${encodeURIComponent(again)}`);
      }
      throw handled();
    }
    throw err;
  }
}

showCredentialsForm({
  title: '绑定账号',
  desc: '请输入用户名和密码，将本微信与账号绑定，绑定后在微信中无需再次输入密码（修改密码后需重新绑定）。单位统一注册、尚未激活的账号，请先在登录页完成激活再绑定',
  submitLabel: '登录并绑定',
  submit: bindOrNextStep,
  next,
  // No account yet: 自主注册 in this same browser binds this WeChat user to the new account.
  extra: h(
    'p',
    { class: 'hint login-links' },
    '还没有账号？',
    h('a', { href: `/h5/register?next=${encodeURIComponent(next)}`, id: 'register-link' }, '自主注册'),
    ' · ',
    h('a', { href: `/h5/forgot?next=${encodeURIComponent(next)}`, id: 'forgot-link' }, '忘记密码'),
  ),
});
