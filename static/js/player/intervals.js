// Played stretches as sorted, disjoint [from, to] pairs in seconds: merging and coverage,
// for drawing what is learned. The server keeps the authoritative union; this mirrors it.

export function merge(intervals, extra = []) {
  const all = [...intervals, ...extra]
    .map(([a, b]) => [Math.min(a, b), Math.max(a, b)])
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  const out = [];
  for (const [a, b] of all) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

export const coverage = (intervals) => intervals.reduce((sum, [a, b]) => sum + (b - a), 0);

/** Draw the learned stretches and the play head on a bar element. */
export function drawBar(bar, intervals, duration, position) {
  bar.replaceChildren();
  if (!(duration > 0)) return;
  for (const [a, b] of intervals) {
    const seg = document.createElement('div');
    seg.className = 'seg';
    seg.style.left = `${(Math.max(0, a) / duration) * 100}%`;
    seg.style.width = `${((Math.min(duration, b) - Math.max(0, a)) / duration) * 100}%`;
    bar.append(seg);
  }
  const head = document.createElement('div');
  head.className = 'head';
  head.style.left = `${(Math.min(duration, Math.max(0, position)) / duration) * 100}%`;
  bar.append(head);
}
