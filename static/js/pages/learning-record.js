// 学习记录: for each chapter of a course, its plays (start, end, time watched, 在线确认
// passed / missed, device, address), newest first, and the time credited (计入): what the
// chapter's plays covered, a stretch watched twice counted once, as 我的进度 counts it.
// Opened from 我的进度 and the course page as /h5/learning-record?course=<id> (every course
// learned when no id is given).
import { learningRecord } from '../api/learning.js';
import { boot, dateText, emptyBlock, h, hours, page, params } from '../core/ui.js';

const courseId = Number(params().get('course')) || undefined;

/** Seconds as people read a duration: 12 秒, 3 分 5 秒, 1 小时 2 分. */
export function durationText(seconds) {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  if (s < 60) return `${s} 秒`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} 分 ${s % 60} 秒` : `${m} 分钟`;
  return m % 60 ? `${Math.floor(m / 60)} 小时 ${m % 60} 分` : `${Math.floor(m / 60)} 小时`;
}

function checksText(play) {
  if (!play.checks_passed && !play.checks_missed) return '无';
  const parts = [`通过 ${play.checks_passed} 次`];
  if (play.checks_missed) parts.push(`未确认 ${play.checks_missed} 次`);
  return parts.join('，');
}

function line(label, value, cls = '') {
  return h('div', { class: `record-line ${cls}`.trim() }, h('span', { class: 'record-label' }, label), h('span', { class: 'record-value' }, value));
}

function playItem(play) {
  return h(
    'li',
    { class: 'record-play' },
    line('开始', dateText(play.started_at)),
    line('结束', dateText(play.ended_at)),
    line('观看时长', durationText(play.watched_seconds), 'watched'),
    line('在线确认', checksText(play), play.checks_missed ? 'checks missed' : 'checks'),
    line('设备', play.device || '未知设备', 'device'),
    line('地址', play.address || '未知', 'address'),
  );
}

function chapterBlock(ch) {
  const t = ch.totals;
  return h(
    'div',
    { class: 'record-chapter', dataset: { chapterId: ch.id } },
    h('div', { class: 'record-chapter__head' }, h('span', { class: 'record-chapter__title' }, ch.title), h('span', { class: 'tag gray' }, `${t.plays} 次`)),
    t.plays
      ? h(
          'div',
          { class: 'meta chapter-totals' },
          `计入 ${durationText(t.credited_seconds)}`,
          t.watched_seconds > t.credited_seconds ? `（共观看 ${durationText(t.watched_seconds)}，重复观看的部分只计一次）` : '',
          `，在线确认通过 ${t.checks_passed} 次${t.checks_missed ? `、未确认 ${t.checks_missed} 次` : ''}`,
        )
      : null,
    ch.plays.length ? h('ol', { class: 'record-plays' }, ch.plays.map(playItem)) : h('div', { class: 'meta' }, '暂无学习记录'),
  );
}

function courseBlock(course) {
  const t = course.totals;
  return h(
    'div',
    { class: 'card record-course', dataset: { courseId: course.id } },
    h('h3', {}, h('a', { href: `/h5/course?id=${course.id}` }, course.title)),
    h('div', { class: 'meta' }, `${hours(course.hours)} 学时 · 学习 ${t.plays} 次 · 计入 ${durationText(t.credited_seconds)} · 在线确认通过 ${t.checks_passed} 次`),
    course.chapters.map(chapterBlock),
  );
}

async function load() {
  const data = await learningRecord(courseId);
  const courses = data.courses || [];
  page('学习记录', [
    h('div', { class: 'page-head' }, h('h1', {}, '学习记录'), h('p', {}, '每个章节的每次学习：起止时间、观看时长、在线确认、设备和网络地址。“计入”为章节中学过的内容时长，重复观看的部分只计一次。记录每隔几秒写入一次，刚学完的内容稍后显示。')),
    courses.length ? courses.map(courseBlock) : emptyBlock('还没有学习记录'),
    h('p', { class: 'hint' }, courseId ? h('a', { href: `/h5/course?id=${courseId}` }, '返回课程') : null, courseId ? '　' : null, h('a', { href: '/h5/progress' }, '我的进度')),
  ], { tab: '/h5/progress' });
}

boot('学习记录', load, { tab: '/h5/progress' });
