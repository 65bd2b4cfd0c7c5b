// The two account forms shared by 登录 and 绑定: username + password (an account on its
// initial password goes on to 激活账号), and the password change of a logged-in trainee.
import { changePassword, mustChange } from '../api/auth.js';
import { h, page, topTips, toast } from '../core/ui.js';

/**
 * Only a local path may follow a login (no open redirect to another site): `raw` as a
 * path on this site, or `fallback`. Parsed as the browser will parse it when navigating
 * (which drops tabs and newlines, so "/\t/evil.example" is "//evil.example"), and kept
 * only when it stays on this origin.
 */
export function safeNext(raw, fallback = '/h5/plans') {
  if (typeof raw !== 'string' || !raw.startsWith('/')) return fallback;
  let url;
  try {
    url = new URL(raw, window.location.origin);
  } catch {
    return fallback;
  }
  if (url.origin !== window.location.origin) return fallback;
  // The parser collapses dot segments: "/.//evil.example" has this origin but the path
  // "//evil.example", which location.assign and a link's href read as another site.
  if (url.pathname.startsWith('//')) return fallback;
  return url.pathname + url.search + url.hash;
}

function inputCell(label, attrs) {
  return h(
    'label',
    { class: 'weui-cell weui-cell_active' },
    h('div', { class: 'weui-cell__hd' }, h('span', { class: 'weui-label' }, label)),
    h('div', { class: 'weui-cell__bd' }, h('input', { class: 'weui-input', ...attrs })),
  );
}

function busy(button, on) {
  button.classList.toggle('weui-btn_loading', on);
  button.classList.toggle('weui-btn_disabled', on);
  button.disabled = on;
}

function form({ title, desc, cells, submitLabel, onSubmit, extra }) {
  const button = h('button', { type: 'submit', class: 'weui-btn weui-btn_primary', id: 'submit' }, submitLabel);
  const node = h(
    'form',
    {
      class: 'weui-form',
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        if (button.disabled) return;
        busy(button, true);
        try {
          await onSubmit(node);
        } catch (err) {
          if (!err.redirecting) topTips(err.message || '提交失败，请稍后再试');
        } finally {
          busy(button, false);
        }
      },
    },
    h('div', { class: 'weui-form__text-area' }, h('h2', { class: 'weui-form__title' }, title), desc ? h('div', { class: 'weui-form__desc' }, desc) : null),
    h('div', { class: 'weui-form__control-area' }, h('div', { class: 'weui-cells__group weui-cells__group_form' }, h('div', { class: 'weui-cells weui-cells_form' }, cells))),
    h('div', { class: 'weui-form__opr-area' }, button),
    extra ? h('div', { class: 'weui-form__extra-area' }, extra) : null,
  );
  return node;
}

// The help line must stay readable (WeUI's footer grey is 1.6:1 on white; .help-line is 7:1).
const HELP = h(
  'div',
  { class: 'weui-footer help-line' },
  h('p', { class: 'weui-footer__text' }, '账号注册、登录问题咨询：400-023-9229，按 1 选择登录注册问题'),
  h('p', { class: 'weui-footer__text' }, h('a', { href: '/h5/help' }, '更多咨询方式与在线客服')),
);

/**
 * Username + password; `submit(username, password)` returns the profile. Then the forced
 * change if the account still has its initial password, then `next`.
 */
export function showCredentialsForm({ title, desc, submitLabel, submit, next, extra }) {
  page(
    title,
    form({
      title,
      desc,
      submitLabel,
      extra: [extra, HELP],
      cells: [
        inputCell('用户名', { name: 'username', id: 'username', placeholder: '手机号或身份证号', autocomplete: 'username', maxlength: 18, required: true }),
        inputCell('密码', { name: 'password', id: 'password', type: 'password', placeholder: '请输入密码', autocomplete: 'current-password', maxlength: 64, required: true }),
      ],
      onSubmit: async (node) => {
        const username = node.username.value.trim();
        const password = node.password.value;
        if (!username) return topTips('请输入用户名（手机号或身份证号）');
        if (!/^(\d{11}|\d{17}[\dX])$/.test(username)) {
          return topTips(/x$/.test(username) ? '身份证号中的字母 X 请大写' : '用户名应为 11 位手机号或 18 位身份证号');
        }
        if (!password) return topTips('请输入密码');
        const profile = await submit(username, password);
        // The initial password opens only 激活账号 (an SMS code to the roster phone).
        if (mustChange(profile)) window.location.assign(`/h5/activate?next=${encodeURIComponent(next)}`);
        else window.location.assign(next);
      },
    }),
  );
}

// The server's rule (wxapp/accounts/trainees.py check_new_password); it also refuses the
// initial password and any password containing the ID number's last six characters.
const PASSWORD_RULE = '新密码为 8～64 位，须同时包含英文字母和数字，不能包含身份证号码后六位';

function checkNewPassword(value, confirm) {
  if (value.length < 8 || value.length > 64) return '新密码长度应为 8～64 位';
  if (!/[A-Za-z]/.test(value) || !/[0-9]/.test(value)) return '新密码须同时包含英文字母和数字';
  if (value !== confirm) return '两次输入的新密码不一致';
  return '';
}

/** The password change; first=true is the forced one right after the initial password
 *  (no way round it), else the trainee's own, with 返回 to `next`. */
export function showChangeForm({ oldPassword = '', next, first = false }) {
  const cells = [];
  if (!oldPassword) cells.push(inputCell('原密码', { name: 'old', id: 'old_password', type: 'password', placeholder: '请输入原密码', autocomplete: 'current-password' }));
  cells.push(
    inputCell('新密码', { name: 'new1', id: 'new_password', type: 'password', placeholder: '8～64 位，含英文字母和数字', autocomplete: 'new-password' }),
    inputCell('确认新密码', { name: 'new2', id: 'new_password2', type: 'password', placeholder: '再次输入新密码', autocomplete: 'new-password' }),
  );
  page(
    '修改密码',
    form({
      title: '修改密码',
      desc: (first ? '请设置新密码，修改后请牢记新密码。' : '修改后，账号在其他设备上的登录将全部退出，并解除微信绑定：请在公众号菜单中重新登录并绑定微信，以便继续收到学习通知。') + PASSWORD_RULE,
      submitLabel: '确认修改',
      cells,
      extra: first ? null : h('p', { class: 'hint center' }, h('a', { href: next, id: 'back-link' }, '返回')),
      onSubmit: async (node) => {
        const old = oldPassword || node.old.value;
        if (!old) return topTips('请输入原密码');
        const problem = checkNewPassword(node.new1.value, node.new2.value);
        if (problem) return topTips(problem);
        await changePassword(old, node.new1.value);
        toast('密码已修改');
        setTimeout(() => window.location.assign(next), 600);
      },
    }),
  );
}
