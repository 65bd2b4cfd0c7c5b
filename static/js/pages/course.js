// 播放: a course's chapters with their states, and the player of the chosen chapter.
import { course as loadCourse, planDetail } from '../api/catalogue.js';
import { myProgress } from '../api/progress.js';
import { $, boot, dialog, h, hours, page, params, percentText, toast } from '../core/ui.js';
import { ChapterPlayer } from '../player/player.js';

const q = params();
const courseId = q.get('id');
const planId = q.get('plan');

let course = null;
let chapterState = new Map(); // chapter id → {percent, done}
let player = null;
let currentChapter = null;

function chapterTag(ch) {
  const s = chapterState.get(String(ch.id));
  if (s?.done) return h('span', { class: 'tag' }, '已学完');
  if (s && s.percent > 0) return h('span', { class: 'tag blue' }, `已学 ${percentText(s.percent)}`);
  return h('span', { class: 'tag gray' }, '未学习');
}

function renderChapters() {
  $('#chapters').replaceChildren(
    ...course.chapters.map((ch) =>
      h(
        'a',
        {
          role: 'button',
          class: `weui-cell weui-cell_access chapter-item${currentChapter && ch.id === currentChapter.id ? ' playing' : ''}`,
          dataset: { chapterId: ch.id },
          onclick: (e) => {
            e.preventDefault();
            if (ch.id !== currentChapter?.id) openChapter(ch);
          },
        },
        h('div', { class: 'weui-cell__bd' }, ch.title),
        h('div', { class: 'weui-cell__ft chapter-state' }, chapterTag(ch)),
      ),
    ),
  );
}

function setStatus(text) {
  $('#player-status-text').textContent = text;
}

function banner(text) {
  const node = $('#done-banner');
  node.textContent = text;
  node.hidden = false;
}

function onReply(reply) {
  const id = String(currentChapter.id);
  const before = chapterState.get(id) || {};
  chapterState.set(id, { percent: reply.chapterDone ? 100 : reply.percent, done: reply.chapterDone || before.done });
  // While a presence check waits, the status line keeps asking for the tap.
  if (!player?.check && !player?.missed) setStatus(reply.chapterDone ? '本章节已学完' : `本章节已学 ${percentText(reply.percent)}`);
  if (reply.chapterDone && !before.done) toast('本章节已学完');
  renderChapters();
  if (reply.planDone) banner('恭喜！培训项目已完成，可在“我的证书”中打印证书');
  else if (reply.courseDone) {
    const plan = reply.planHoursRequired ? `，计划完成度 ${hours(reply.planHoursDone)} / ${hours(reply.planHoursRequired)} 学时` : '';
    banner(`恭喜！本课程已学完，获得 ${hours(course.hours)} 学时${plan}`);
  }
}

function onSuperseded(message) {
  const box = $('#superseded');
  box.replaceChildren(
    h('div', {}, message.includes('其他设备') ? message : `正在其他设备学习。${message}`),
    h('button', { class: 'weui-btn weui-btn_mini weui-btn_default', onclick: () => window.location.reload() }, '在本设备继续学习'),
  );
  box.hidden = false;
  setStatus('已暂停');
}

// 防挂机: the check the server chose, shown as a WeUI dialog; one tap answers it.
const PRESENCE_TEXT = '请点击继续学习';
const MISSED_TEXT = '长时间未确认，学习已暂停，请点击继续学习';

async function onPresence(check) {
  const shown = player;
  setStatus('学习检查：请点击继续学习');
  const within = Date.parse(check.answer_by) - Date.parse(check.due);
  // The answer time runs out: say the play is paused (the tap then resumes it anew).
  const timer = setTimeout(() => {
    const text = document.querySelector('.presence-check .weui-dialog__bd');
    if (text) text.textContent = MISSED_TEXT;
    setStatus('已暂停');
  }, Number.isFinite(within) && within > 0 ? within : 60_000);
  const asked = dialog({ title: '学习检查', text: PRESENCE_TEXT, buttons: ['继续学习'] });
  document.querySelector('.js_dialog:last-of-type')?.classList.add('presence-check');
  await asked;
  clearTimeout(timer);
  if (shown !== player) return; // another chapter was chosen meanwhile
  setStatus('继续学习');
  await player.answerCheck();
}

async function onPresenceMissed() {
  const shown = player;
  setStatus('已暂停');
  document.querySelectorAll('.presence-check').forEach((node) => node.remove()); // its check is gone
  const asked = dialog({ title: '学习已暂停', text: MISSED_TEXT, buttons: ['继续学习'] });
  document.querySelector('.js_dialog:last-of-type')?.classList.add('presence-check');
  await asked;
  if (shown === player) await player.resumePlay();
}

let problemShown = false;
function onProblem(err) {
  if (err.redirecting) return;
  if (err.status === 403) {
    const box = $('#superseded');
    box.replaceChildren(h('div', {}, err.message && err.message !== '没有权限' ? err.message : '购买该培训项目后即可学习'), planId ? h('a', { class: 'weui-btn weui-btn_mini weui-btn_default', href: `/h5/plan?id=${planId}` }, '去购买') : null);
    box.hidden = false;
    return;
  }
  if (err.status === -1) return setStatus(err.message); // the video itself
  // A lost beacon is sent again with the next one; say so once, do not interrupt the video.
  if (!problemShown) {
    problemShown = true;
    setStatus(err.status === 0 ? '网络不稳定，学习记录稍后保存' : `学习记录保存失败：${err.message}`);
  }
}

async function openChapter(ch) {
  if (player) player.destroy();
  currentChapter = ch;
  renderChapters();
  $('#chapter-title').textContent = ch.title;
  $('#superseded').hidden = true;
  const video = $('#video');
  player = new ChapterPlayer({ video, bar: $('#learned-bar'), chapter: ch, hooks: { onReply, onSuperseded, onProblem, onPresence, onPresenceMissed, onResume: (s) => setStatus(s.done ? '本章节已学完' : s.position > 0 ? `从上次位置继续（已学 ${percentText(s.duration ? (s.watchedSeconds * 100) / s.duration : 0)}）` : '点击播放开始学习') } });
  window.__player = player; // for tests and support: the live player's state
  try {
    await player.start();
  } catch (err) {
    onProblem(err);
  }
  const url = new URL(window.location.href);
  url.searchParams.set('chapter', ch.id);
  window.history.replaceState(null, '', url);
}

async function load() {
  if (!courseId) throw new Error('缺少课程编号，请从课程列表进入');
  course = await loadCourse(courseId);
  // Chapter states come from 我的进度 of the plan's year (this year's when no plan is given).
  const year = planId ? (await planDetail(planId, 1, 1)).plan.year : undefined;
  const progress = await myProgress(year, { tolerateMissing: true });
  for (const plan of progress.plans) {
    for (const c of plan.courses) {
      if (String(c.id) !== String(course.id)) continue;
      for (const ch of c.chapters) chapterState.set(String(ch.id), { percent: ch.percent, done: ch.done });
    }
  }
  page(course.title, [
    h(
      'div',
      { class: 'player' },
      h('video', { id: 'video', controls: true, playsinline: true, 'webkit-playsinline': true, 'x5-playsinline': true, controlslist: 'nodownload noplaybackrate', disablepictureinpicture: true }),
      h('div', { class: 'learned-bar', id: 'learned-bar', title: '绿色为已学习的部分' }),
      h('div', { class: 'player-status' }, h('span', { id: 'chapter-title' }), h('span', { id: 'player-status-text' }, '')),
    ),
    h('div', { class: 'superseded', id: 'superseded', role: 'alert', hidden: true }),
    h('div', { class: 'done-banner', id: 'done-banner', role: 'status', hidden: true }),
    h(
      'div',
      { class: 'card' },
      h('h3', {}, course.title),
      h('div', { class: 'meta' }, `${hours(course.hours)} 学时`, course.teacher ? `　主讲：${course.teacher}` : '', course.category ? `　${course.category}` : ''),
      h('div', { class: 'meta', id: 'credit-rule' }, course.chapters.length > 1 ? '本课程有多个章节，需学习完每个章节才可获得学分。' : '学习完本课程的章节即可获得学分。'),
    ),
    h('div', { class: 'weui-cells__title' }, '章节'),
    h('div', { class: 'weui-cells chapter-list', id: 'chapters' }),
    planId
      ? h('p', { class: 'hint' }, h('a', { href: `/h5/plan?id=${planId}` }, '返回课程列表'), '　', h('a', { href: '/h5/progress' }, '我的进度'), '　', h('a', { href: `/h5/learning-record?course=${courseId}` }, '学习记录'))
      : h('p', { class: 'hint' }, h('a', { href: '/h5/progress' }, '我的进度'), '　', h('a', { href: `/h5/learning-record?course=${courseId}` }, '学习记录')),
  ]);
  const wanted = course.chapters.find((c) => String(c.id) === q.get('chapter'));
  const firstOpen = course.chapters.find((c) => !chapterState.get(String(c.id))?.done);
  const chosen = wanted || firstOpen || course.chapters[0];
  if (chosen) await openChapter(chosen);
  else renderChapters();
}

boot('课程学习', load);
