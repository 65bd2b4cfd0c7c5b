// 自主注册's field rules, as the server has them (wxapp/accounts/roster.py check_name,
// idnumbers.validate_id_number, trainees.check_new_password): checked before sending so a
// mistake shows next to its field at once; the server checks everything again.
const NAME = /^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaffA-Za-z·]+$/u;
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS = '10X98765432';

export function nameProblem(name) {
  if (!name) return '姓名不能为空';
  if (/\s/.test(name)) return '姓名中间不能有空格';
  // Han characters of the extension planes (rare names) are left to the server.
  if (!NAME.test(name.replace(/[\u{20000}-\u{3134f}]/gu, '张'))) return '姓名不能含符号或数字';
  if ([...name].length > 50) return '姓名过长（最多 50 个字）';
  return '';
}

export function idNumberProblem(value) {
  if (!value) return '请填写身份证号码';
  if (/^\d{17}x$/.test(value)) return '身份证号码中的字母 X 请使用大写';
  if (/\s/.test(value)) return '身份证号码格式错误：前后及中间不能有空格';
  if (!/^\d{17}[\dX]$/.test(value)) return '身份证号码格式错误：应为 18 位，最后一位可为大写 X';
  const sum = WEIGHTS.reduce((s, w, i) => s + w * Number(value[i]), 0);
  if (CHECK_CHARS[sum % 11] !== value[17]) return '身份证号码校验位错误';
  return '';
}

export function phoneProblem(value) {
  if (!value) return '请填写手机号';
  return /^1[3-9]\d{9}$/.test(value) ? '' : '手机号码应为 11 位中国大陆手机号';
}

export function passwordProblem(value, idNumber, confirm) {
  if (value.length < 8 || value.length > 64) return '密码长度应为 8～64 位';
  if (!/[A-Za-z]/.test(value) || !/[0-9]/.test(value)) return '密码须同时包含英文字母和数字';
  if (/^\d{17}[\dX]$/.test(idNumber || '') && value.toLowerCase().includes(idNumber.slice(-6).toLowerCase())) return '密码不能包含身份证号码后六位';
  if (confirm !== undefined && value !== confirm) return '两次输入的密码不一致';
  return '';
}

/** 男/女 from the ID number's 17th digit (odd for men), shown before sending. */
export const genderOf = (idNumber) => (Number(idNumber[16]) % 2 ? '男' : '女');
