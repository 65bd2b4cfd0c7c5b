// 帮助: every contact of the notice (phone numbers dial on a tap), and how to reach 在线客服.
import { get } from '../core/http.js';
import { boot, h, page } from '../core/ui.js';

function item(it) {
  const value = it.tel ? h('a', { href: `tel:${it.tel}` }, it.value) : it.value;
  return h('div', { class: 'weui-cell' }, h('div', { class: 'weui-cell__bd' }, h('p', {}, it.label), h('p', { class: 'meta' }, value)));
}

async function load() {
  const data = await get('/api/help', { auth: 'raise' });
  page('帮助', [
    h('div', { class: 'page-head' }, h('h1', {}, '帮助与咨询方式'), h('p', {}, '遇到问题可按以下方式咨询')),
    data.groups.map((g) => [h('div', { class: 'weui-cells__title' }, g.group), h('div', { class: 'weui-cells contact-list' }, g.items.map(item))]),
    h('p', { class: 'hint' }, '在线客服：在微信中返回公众号，直接发送您的问题即可转人工客服；回复“帮助”可随时查看本页内容。'),
    h('p', { class: 'hint center' }, h('a', { href: '/h5/plans' }, '返回培训项目')),
  ]);
}

boot('帮助', load);
