// 登录: username (手机号或身份证号) + password. An account on its initial password goes on to
// 激活账号 (an SMS code to the roster phone); 忘记密码 resets by SMS; `?change=1` is the
// voluntary password change of a logged-in trainee.
import { login } from '../api/auth.js';
import { h, inWeChat, params } from '../core/ui.js';
import { safeNext, showChangeForm, showCredentialsForm } from './account-forms.js';

const q = params();
const next = safeNext(q.get('next'));

if (q.get('change')) {
  showChangeForm({ next });
} else {
  showCredentialsForm({
    title: '登录',
    desc: '请输入用户名及密码登录。单位统一注册的账号，用户名为身份证号码，初始密码为 edu@身份证号码后六位，首次登录须通过短信验证激活',
    submitLabel: '登录',
    submit: login,
    next,
    extra: h(
      'p',
      { class: 'hint login-links' },
      h('a', { href: `/h5/forgot?next=${encodeURIComponent(next)}`, id: 'forgot-link' }, '忘记密码'),
      ' · ',
      h('a', { href: `/h5/register?next=${encodeURIComponent(next)}`, id: 'register-link' }, '自主注册'),
      inWeChat() ? [' · ', h('a', { href: `/auth/wechat?next=${encodeURIComponent(next)}` }, '微信授权登录')] : null,
    ),
  });
}
