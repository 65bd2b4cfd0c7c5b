// 绑定: after 网页授权 found no account for this WeChat user, the trainee logs in once and
// the WeChat account is bound, so later visits need no password.
import { bind } from '../api/auth.js';
import { params } from '../core/ui.js';
import { safeNext, showCredentialsForm } from './account-forms.js';

const next = safeNext(params().get('next'));

showCredentialsForm({
  title: '绑定账号',
  desc: '首次使用请输入用户名和密码，绑定后在微信中无需再次输入密码。单位统一注册的账号，初始密码为 edu@身份证号码后六位',
  submitLabel: '登录并绑定',
  submit: bind,
  next,
});
