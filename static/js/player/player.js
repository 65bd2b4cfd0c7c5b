// The chapter player: resumes at the last position, draws learned stretches, and reports
// playback with beacons {chapter_id, play_id, seq, from, to, position} — every 15 s of
// playback and on play, pause, seek, end, visibilitychange and pagehide (navigator.sendBeacon
// when the page is leaving). A 409 means another device took over: stop and say so. A stretch
// that got no answer or a 5xx is sent again (with the next beacon, or after RETRY_MS).
// 防挂机: a reply carrying `presence` pauses the video until the trainee answers the check
// (POST /api/presence); a check left unanswered pauses the play: a new play resumes it.

import { resume, sendBeacon, sendBeaconOnLeave } from '../api/progress.js';
import { post } from '../core/http.js';
import { coverage, drawBar, merge } from './intervals.js';
import { StretchTracker } from './tracker.js';

function newPlayId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

const round = (t) => Math.round(t * 100) / 100;

// One queue for every player of the page: the last beacon of a chapter left behind reaches
// the server before the first one of the next chapter (whose new play_id takes over).
let queue = Promise.resolve();

// A beacon that failed on the way or on the server (no answer, 5xx) is given back to the
// tracker and sent again with the next one; when the video is not playing (paused, ended)
// no next one comes, so it is sent again after these delays.
const RETRY_MS = [3000, 10000, 30000];

export class ChapterPlayer {
  /**
   * video: <video>; bar: the learned bar element; chapter: {id, duration, videoUrl};
   * hooks: onReply(reply), onSuperseded(message), onProblem(err), onResume(state),
   * onPresence(check) (show the check; call answerCheck() on the click), onPresenceMissed().
   */
  constructor({ video, bar, chapter, hooks = {} }) {
    this.video = video;
    this.bar = bar;
    this.chapter = chapter;
    this.hooks = hooks;
    this.playId = newPlayId();
    this.seq = 0;
    this.intervals = [];
    this.duration = chapter.duration || 0;
    this.tracker = new StretchTracker(0);
    this.stopped = false;
    this.refused = false;
    this.destroyed = false;
    this.inSeek = false;
    this.lastTick = null;
    this.listeners = [];
    this.check = null; // the presence check shown, until answered
    this.missed = false; // a check went unanswered: the play is paused until resumed
    this.retries = 0; // failed beacons in a row
    this.retryTimer = null;
  }

  async start() {
    let state = { position: 0, intervals: [], watchedSeconds: 0, duration: 0, done: false };
    try {
      state = await resume(this.chapter.id);
    } catch (err) {
      if (err.redirecting) return;
      if (err.status === 403 || err.status === 401) throw err;
      this.hooks.onProblem?.(err);
    }
    if (this.destroyed) return; // the trainee already picked another chapter
    if (state.duration > 0) this.duration = state.duration;
    this.intervals = merge(state.intervals);
    this.hooks.onResume?.(state);
    const v = this.video;
    v.preload = 'metadata';
    v.src = this.chapter.videoUrl;
    await new Promise((resolve) => {
      if (v.readyState >= 1) resolve();
      else {
        v.addEventListener('loadedmetadata', resolve, { once: true });
        v.addEventListener('error', resolve, { once: true });
      }
    });
    if (this.destroyed) return;
    if (v.error) this.hooks.onProblem?.(Object.assign(new Error('视频加载失败，请检查网络后刷新重试'), { status: -1 }));
    if (!this.duration && Number.isFinite(v.duration)) this.duration = v.duration;
    // Resume where the trainee stopped, unless that was the very end.
    const at = state.position > 0 && state.position < (this.duration || Infinity) - 2 ? state.position : 0;
    if (at > 0) {
      v.currentTime = at;
      await new Promise((resolve) => v.addEventListener('seeked', resolve, { once: true }));
    }
    if (this.destroyed) return;
    this.restartAt(v.currentTime);
    this.draw();
    this.bind();
    // Opening the chapter opens its play_id (from == to), which takes over from another device.
    this.send(this.beaconAt(v.currentTime));
  }

  on(target, type, fn) {
    target.addEventListener(type, fn);
    this.listeners.push([target, type, fn]);
  }

  bind() {
    const v = this.video;
    this.on(v, 'play', () => {
      if (this.stopped || this.check || this.missed) return v.pause();
      this.restartAt(v.currentTime);
      this.send(this.beaconAt(v.currentTime));
    });
    this.on(v, 'timeupdate', () => {
      if (this.stopped || this.inSeek || v.seeking) return;
      if (!v.paused) this.advance();
      this.draw();
      if (!v.paused && this.tracker.due) this.flush();
    });
    this.on(v, 'pause', () => this.flush({ force: true }));
    this.on(v, 'ended', () => this.flush());
    // The stretch before a seek is reported, then the new position alone (from == to).
    // Until 'seeked', time updates are the jump, not playback.
    this.on(v, 'seeking', () => {
      this.flush();
      this.inSeek = true;
    });
    this.on(v, 'seeked', () => {
      this.inSeek = false;
      if (this.stopped) return;
      this.restartAt(v.currentTime);
      this.send(this.beaconAt(v.currentTime));
      this.draw();
    });
    this.on(document, 'visibilitychange', () => {
      if (document.visibilityState === 'hidden') this.flush({ force: true, leaving: true });
    });
    this.on(window, 'pagehide', () => this.flush({ force: true, leaving: true }));
  }

  restartAt(t) {
    this.tracker.restart(t);
    this.lastTick = performance.now();
  }

  /**
   * Extend the stretch to the current time. A step longer than the real time since the
   * last one allows at this playback rate is a jump we did not see as a seek: start over.
   */
  advance() {
    const v = this.video;
    const now = performance.now();
    const allowed = ((now - (this.lastTick ?? now)) / 1000) * (v.playbackRate || 1) + 1;
    if (v.currentTime - this.tracker.last > allowed) this.tracker.restart(v.currentTime);
    else this.tracker.advance(v.currentTime);
    this.lastTick = now;
  }

  /** Seconds as sent: 2 decimals, never past the chapter's end (the video may run a hair longer). */
  at(t) {
    const capped = this.duration > 0 ? Math.min(t, this.duration) : t;
    return round(Math.max(0, capped));
  }

  beaconAt(t) {
    return { from: this.at(t), to: this.at(t), position: this.at(t) };
  }

  flush({ force = false, leaving = false } = {}) {
    if (this.stopped) return;
    if (!this.inSeek && !this.video.seeking) this.advance();
    if (this.tracker.length <= 0 && !force) return;
    const stretch = this.tracker.take();
    const body = { from: this.at(stretch.from), to: this.at(stretch.to), position: this.at(stretch.to) };
    if (leaving) {
      sendBeaconOnLeave(this.payload(body));
      this.intervals = merge(this.intervals, [[stretch.from, stretch.to]]);
      return;
    }
    this.send(body, stretch);
  }

  payload(body) {
    this.seq += 1;
    return { chapter_id: Number(this.chapter.id), play_id: this.playId, seq: this.seq, ...body };
  }

  /** Beacons go one at a time, in order, so the server's wall-clock clamp sees them in order. */
  send(body, stretch = null) {
    const payload = this.payload(body);
    queue = queue.then(async () => {
      if (this.refused) return; // superseded or not entitled: nothing more is sent
      try {
        const reply = await sendBeacon(payload);
        this.retries = 0;
        if (this.destroyed) return;
        if (stretch && stretch.to > stretch.from) this.intervals = merge(this.intervals, [[stretch.from, stretch.to]]);
        await this.sync(reply);
        this.draw();
        this.hooks.onReply?.(reply);
        if (reply.presence && reply.presence.check_id !== this.check?.check_id) this.showCheck(reply.presence, stretch);
      } catch (err) {
        if (this.destroyed) return;
        if (err.status === 409 && err.code === 'presence_missed') this.pauseForMissed();
        else if (err.status === 409) this.stop(err.message || '正在其他设备学习');
        else if (err.status === 401 || err.status === 403) {
          this.stop();
          this.hooks.onProblem?.(err);
        } else {
          if ((err.status === 0 || err.status >= 500) && stretch && stretch.to > stretch.from) {
            this.tracker.giveBack(stretch);
            this.retryLater();
          }
          this.hooks.onProblem?.(err);
        }
      }
    });
    return queue;
  }

  /** Send what was given back again, unless playback sends it first (every 15 s). */
  retryLater() {
    if (this.retryTimer || this.retries >= RETRY_MS.length) return;
    const delay = RETRY_MS[this.retries];
    this.retries += 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.stopped || !this.video.paused) return; // playing: the next beacon carries it
      this.flush();
    }, delay);
  }

  /** A presence check fell due: pause and let the page ask "请点击继续学习". */
  showCheck(check, stretch = null) {
    this.check = check;
    this.video.pause();
    this.hooks.onPresence?.(check);
    if (stretch && stretch.to > stretch.from) this.rewindToCredited(check, stretch);
  }

  /**
   * The server credits nothing past the moment the check fell due, which is usually inside
   * the stretch just sent (up to 15 s of it). Go back to the end of what it credited, so
   * that after the answer those seconds are watched again and counted, not left as a gap.
   */
  async rewindToCredited(check, stretch) {
    let state;
    try {
      state = await resume(this.chapter.id);
    } catch {
      return; // the gap stays; the trainee can still see it on the bar
    }
    if (this.destroyed || this.check !== check) return;
    this.intervals = merge(state.intervals);
    const from = Math.floor(stretch.from);
    const held = this.intervals.find(([a, b]) => a <= from && from <= b);
    const end = held ? held[1] : from;
    if (end < stretch.to - 1 && end < this.video.currentTime) this.video.currentTime = end;
    this.draw();
  }

  /** The trainee answered: tell the server from this play, then play on. */
  async answerCheck() {
    const check = this.check;
    if (!check) return this.missed ? this.resumePlay() : undefined;
    try {
      await post('/api/presence', { play_id: this.playId, check_id: check.check_id }, { loading: false });
      this.check = null;
      this.restartAt(this.video.currentTime);
      await this.video.play().catch(() => {});
    } catch (err) {
      this.check = null;
      if (err.code === 'presence_missed') return this.resumePlay();
      if (err.status === 409) return this.stop(err.message);
      this.hooks.onProblem?.(err);
    }
  }

  /** The check went unanswered: the server paused this play. */
  pauseForMissed() {
    this.missed = true;
    this.check = null;
    this.video.pause();
    this.hooks.onPresenceMissed?.();
  }

  /** 继续学习 after a missed check: a new play (from == to) opens where the video is. */
  async resumePlay() {
    this.missed = false;
    this.check = null;
    this.playId = newPlayId();
    this.seq = 0;
    const v = this.video;
    this.restartAt(v.currentTime);
    await this.send(this.beaconAt(v.currentTime));
    if (!this.check && !this.stopped) await v.play().catch(() => {});
  }

  /** Redraw from the server's union when ours drifted (the server dropped a clamped excess). */
  async sync(reply) {
    if (Math.abs(coverage(this.intervals) - reply.watchedSeconds) <= 2) return;
    try {
      const state = await resume(this.chapter.id);
      this.intervals = merge(state.intervals);
    } catch {
      /* the bar stays approximate */
    }
  }

  stop(message) {
    this.stopped = true;
    this.refused = true;
    this.video.pause();
    if (message) this.hooks.onSuperseded?.(message);
  }

  draw() {
    drawBar(this.bar, this.intervals, this.duration || this.video.duration || 0, this.video.currentTime || 0);
  }

  /** Leaving this chapter for another: report what was played, then go quiet. */
  destroy() {
    if (this.listeners.length) this.flush({ force: true });
    this.stopped = true;
    this.destroyed = true;
    clearTimeout(this.retryTimer);
    for (const [target, type, fn] of this.listeners) target.removeEventListener(type, fn);
    this.listeners = [];
    this.video.pause();
  }
}
