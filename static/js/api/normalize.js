// Tolerant readers of API replies: the first present key wins, unknown fields are ignored,
// so a renamed or added field in a reply needs one line changed here, not in every page.

export function pick(obj, keys, fallback = undefined) {
  if (!obj || typeof obj !== 'object') return fallback;
  for (const key of keys) if (obj[key] !== undefined && obj[key] !== null) return obj[key];
  return fallback;
}

export const num = (value, fallback = 0) => {
  const n = Number(value);
  return Number.isFinite(n) ? n : fallback;
};

export const list = (value) => {
  if (Array.isArray(value)) return value;
  if (value && typeof value === 'object' && Array.isArray(value.items)) return value.items;
  return [];
};

export function percentOf(done, required) {
  const r = num(required);
  return r > 0 ? Math.min(100, (num(done) * 100) / r) : 0;
}
