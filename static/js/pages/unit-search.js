// 查找单位: a search box over the unit list and the radio list of what it finds, shared by
// 自主注册 and 个人信息. `find(text)` asks the server (each page its own route); the chosen
// unit ({id, name, district}) is read with `chosen()`, and is forgotten as soon as the
// search text changes.
import { h } from '../core/ui.js';

const NOT_FOUND = '查找不到贵单位？请在下方选择您档案所在区县';

export function unitSearch({ find, input, onInput = () => {} }) {
  let chosen = null;
  let timer = null;
  const results = h('div', { class: 'weui-cells weui-cells_radio', id: 'unit-results', style: { marginTop: 0 } });
  const note = (text) => h('div', { class: 'weui-cell' }, h('div', { class: 'weui-cell__bd meta' }, text));
  const option = (u) =>
    h(
      'label',
      { class: 'weui-cell weui-cell_active weui-check__label unit-option' },
      h('div', { class: 'weui-cell__bd' }, h('p', {}, u.name), h('p', { class: 'meta' }, u.district)),
      h('div', { class: 'weui-cell__ft' }, h('input', { type: 'radio', class: 'weui-check', name: 'unit', value: u.id, onchange: () => (chosen = u) }), h('span', { class: 'weui-icon-checked' })),
    );
  input.addEventListener('input', () => {
    clearTimeout(timer);
    chosen = null;
    onInput();
    timer = setTimeout(async () => {
      const text = input.value.trim();
      if (!text) return results.replaceChildren();
      try {
        const units = await find(text);
        results.replaceChildren(...(units.length ? units.map(option) : [note(NOT_FOUND)]));
      } catch (err) {
        if (!err.redirecting) results.replaceChildren(note(err.message));
      }
    }, 300);
  });
  return { results, chosen: () => chosen };
}
