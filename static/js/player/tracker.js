// What the player reports: the stretch actually played since the last beacon. Time that
// passes by playing extends it; a seek closes it (from == to at the new position).

export const BEACON_EVERY_S = 15;

export class StretchTracker {
  constructor(at = 0) {
    this.restart(at);
  }

  /** Start a new stretch at `at` (start of play, after a seek). */
  restart(at) {
    this.from = at;
    this.last = at;
  }

  /** Playback reached `t` without a seek; a step backwards starts over (a loop, a glitch). */
  advance(t) {
    if (t >= this.last) this.last = t;
    else this.restart(t);
  }

  get length() {
    return this.last - this.from;
  }

  get due() {
    return this.length >= BEACON_EVERY_S;
  }

  /** The stretch to report, and a fresh one starting where it ended. */
  take() {
    const stretch = { from: this.from, to: this.last };
    this.from = this.last;
    return stretch;
  }

  /** A stretch that could not be delivered is reported again with the next one. */
  giveBack(stretch) {
    if (this.from === stretch.to) this.from = stretch.from;
  }
}
