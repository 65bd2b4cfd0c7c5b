// 登录: username (手机号或身份证号) + password, then the forced change at first login.
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
    desc: '请输入用户名及密码登录。单位统一注册的账号，用户名为身份证号码，初始密码为 edu@身份证号码后六位',
    submitLabel: '登录',
    submit: login,
    next,
    extra: inWeChat() ? h('p', { class: 'hint' }, h('a', { href: `/auth/wechat?next=${encodeURIComponent(next)}` }, '微信授权登录')) : null,
  });
}
