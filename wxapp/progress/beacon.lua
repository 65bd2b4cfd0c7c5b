-- One beacon, applied atomically on the keys of one trainee (hash tag {t:<id>}, one slot).
-- Mirrors wxapp/progress/core.py apply_beacon; time comes from the app clock (ARGV), never
-- from Redis TIME, so tests can simulate real time.
--
-- KEYS[1] play hash     {t:<id>}:play       id, last (epoch s), seq, ch (chapter of that seq);
--                                           the trainee's, across plays: c (credit clock, ms),
--                                           pk (presence: credit seconds until the next check),
--                                           q, qt (the check waiting: id, due ms), qa (last
--                                           answered), pz (play paused by a missed check),
--                                           qp, qm (checks passed, missed)
-- KEYS[2] chapter hash  {t:<id>}:ch:<cid>   iv ("a,b,c,d"), w, pos, dur, course, done, v
-- KEYS[3] entitlements  {t:<id>}:ent        c:<course> -> plan id; p:<plan> -> "done|required|0/1";
--                                           k:<course> -> 1 when learned
-- KEYS[4] superseded    {t:<id>}:old        zset of play ids that were taken over
-- KEYS[5] rate counter  {t:<id>}:rl:beacon:<window>  beacons in this window (wxapp/infra/limits.py)
-- KEYS[6] ended sessions {t:<id>}:sess      ep (session epoch), x:<session id> (ended one by one)
--                                           (wxapp/accounts/session_ends.py)
-- KEYS[7] learning record {t:<id>}:rec      per play of a chapter, <f>:<chapter>:<play id> for f in
--                                           s, e (first, last beacon ms), c (seconds credited),
--                                           qp, qm (checks passed, missed), d, a (device, address);
--                                           v counts changes (the flusher's change check)
-- ARGV: play_id, seq, from, to, position, now, slack (ms), ratio, ttl, chapter id,
--       rate limit, rate window (s), the cookie's session epoch, x:<its session id>,
--       rand (24 hex digits from the app), presence min s, max s (0: off), answer ms,
--       device label, client address
-- Returns {status, w, dur, done, newly, course, plan, plan_info, course_done, field,
--          check id, check due ms}

local play, ch, ent, old = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local play_id, seq = ARGV[1], tonumber(ARGV[2])
local from, to, position = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local now, slack, ratio, ttl = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local now_ms = math.floor(now * 1000 + 0.5)
local now_text = string.format('%.0f', now_ms)
local rand, pmin, pmax, answer_ms = ARGV[15], tonumber(ARGV[16]), tonumber(ARGV[17]), tonumber(ARGV[18])
local on = pmin > 0
local rec = KEYS[7]

-- A session ended since its cookie was signed (session_rules.is_ended) is refused before
-- anything is counted or changed; a missing hash counts as epoch 0, nothing ended.
local ended = redis.call('HMGET', KEYS[6], 'ep', ARGV[14])
if (tonumber(ended[1]) or 0) > tonumber(ARGV[13]) or (ARGV[14] ~= 'x:' and ended[2]) then
  return {'ended'}
end

-- The rate limit rides in the same round trip: the hot path pays no extra call for it.
local calls = redis.call('INCR', KEYS[5])
if calls == 1 then redis.call('EXPIRE', KEYS[5], tonumber(ARGV[12])) end
if calls > tonumber(ARGV[11]) then
  return {'limited'}
end

local meta = redis.call('HMGET', ch, 'dur', 'course', 'iv', 'w', 'done', 'v')
if not meta[1] then
  -- With no entitlements cached either, the caller reads both in one database visit.
  return {'nochapter', redis.call('EXISTS', ent)}
end
local dur, course, iv, w, done = tonumber(meta[1]), meta[2], meta[3] or '', tonumber(meta[4]) or 0, meta[5] == '1'
local version = (tonumber(meta[6]) or 0) + 1 -- counts applied beacons: the flusher's change check
local entitled = redis.call('HMGET', ent, 'c:' .. course, 'k:' .. course)
local plan, learned = entitled[1], entitled[2] and 1 or 0
if not plan then
  return {'noent', 0, dur, 0, 0, course, 0, '', 0, ''}
end
if from > dur then return {'range', 0, dur, 0, 0, course, plan, '', 0, 'from'} end
if to > dur then return {'range', 0, dur, 0, 0, course, plan, '', 0, 'to'} end
if position > dur then return {'range', 0, dur, 0, 0, course, plan, '', 0, 'position'} end

-- Presence draws (core.PresenceRules): from the app's randomness, never from Lua's.
local function draw()
  local u = tonumber(string.sub(rand, 1, 6), 16) / 16777216
  return pmin + math.floor(u * (pmax - pmin + 1))
end
local function cap(countdown)
  local span = dur - w
  if dur <= 300 or span <= 60 then return countdown end
  local u = tonumber(string.sub(rand, 7, 12), 16) / 16777216
  return math.min(countdown, 30 + math.floor(u * (span - 60)))
end

local current = redis.call('HMGET', play, 'id', 'last', 'seq', 'ch', 'c', 'pk', 'q', 'qt', 'pz')
local qid, qdue = nil, nil
if on then qid, qdue = current[7], tonumber(current[8]) end

local function reply(status, newly)
  local info = redis.call('HGET', ent, 'p:' .. plan) or ''
  return {status, w, dur, done and 1 or 0, newly and 1 or 0, course, plan, info, learned, '',
    qid or '', qdue or 0}
end

-- The learning record of a play in a chapter: opened by its first beacon there.
local function record(p, c)
  local suffix = ':' .. c .. ':' .. p
  if redis.call('HSETNX', rec, 's' .. suffix, now_text) == 1 then
    redis.call('HSET', rec, 'd' .. suffix, ARGV[19], 'a' .. suffix, ARGV[20])
  end
  return suffix
end

-- A check left unanswered: dropped, counted (for the play and chapter it waited in), the
-- next one drawn; `paused` stops that play.
local function miss(paused)
  redis.call('HDEL', play, 'q', 'qt')
  redis.call('HSET', play, 'pk', draw())
  redis.call('HINCRBY', play, 'qm', 1)
  if current[1] and current[4] then
    redis.call('HINCRBY', rec, 'qm:' .. current[4] .. ':' .. current[1], 1)
    redis.call('HINCRBY', rec, 'v', 1)
  end
  if paused then redis.call('HSET', play, 'pz', paused) end
  qid, qdue = nil, nil
end

if current[1] ~= play_id then
  if redis.call('ZSCORE', old, play_id) then
    return reply('superseded', false)
  end
  if current[1] then
    redis.call('ZADD', old, now, current[1])
    -- keep the most recent few: enough to recognise the devices a trainee switches between
    redis.call('ZREMRANGEBYRANK', old, 0, -33)
    redis.call('EXPIRE', old, ttl)
  end
  -- a new play opens: it credits nothing; a check still waiting goes over to it
  redis.call('HSET', play, 'id', play_id, 'last', ARGV[6], 'seq', ARGV[2], 'ch', ARGV[10])
  if on then
    if qid and now_ms > qdue + answer_ms then miss(nil) end
    if not qid then
      local pk = tonumber(redis.call('HGET', play, 'pk')) or draw()
      redis.call('HSET', play, 'pk', cap(pk))
    end
  end
  redis.call('EXPIRE', play, ttl)
  redis.call('HSET', rec, 'e' .. record(play_id, ARGV[10]), now_text)
  redis.call('HINCRBY', rec, 'v', 1)
  redis.call('EXPIRE', rec, ttl)
  redis.call('HSET', ch, 'pos', math.floor(position), 'v', version)
  redis.call('EXPIRE', ch, ttl)
  return reply('ok', false)
end

if on and current[9] == play_id then
  return reply('paused', false) -- its check went unanswered: a new play resumes
end

-- seq counts within a chapter of the play: a player moving on may start again at 0
if current[4] == ARGV[10] and seq <= tonumber(current[3]) then
  return reply('stale', false) -- replayed or out of order: the union already has it
end

local last = tonumber(current[2])
local last_ms = math.floor(last * 1000 + 0.5)
local entering = current[4] ~= ARGV[10]
redis.call('HSET', play, 'last', ARGV[6], 'seq', ARGV[2], 'ch', ARGV[10])
-- The TTLs (a week) are renewed once an hour of a play, and when it moves to a chapter:
-- not on every beacon.
local renew = entering or math.floor(now / 3600) ~= math.floor(last / 3600)
if renew then redis.call('EXPIRE', play, ttl); redis.call('EXPIRE', rec, ttl) end
local suffix = ':' .. ARGV[10] .. ':' .. play_id
if entering then record(play_id, ARGV[10]) end
redis.call('HSET', rec, 'e' .. suffix, now_text)
redis.call('HINCRBY', rec, 'v', 1)

if qid then
  if now_ms > qdue + answer_ms then
    miss(play_id)
    return reply('paused', false)
  end
  -- waiting for the answer: nothing is credited
  redis.call('HSET', ch, 'pos', math.floor(position), 'v', version)
  if renew then redis.call('EXPIRE', ch, ttl) end
  return reply('ok', false)
end

-- The clock as a budget (core.budget_seconds): credit is laid on the wall clock after the
-- trainee's credit clock and this play's previous beacon, never past now + slack.
local clock = tonumber(current[5])
local base = last_ms
if clock and clock > base then base = clock end
local allowed_ms = now_ms + slack - base
local budget = 0
if allowed_ms > 0 then budget = math.floor(allowed_ms / 1000) end
local a = math.floor(from)
local n = math.floor(to) - a
if n < 0 then n = 0 end
if n > budget then n = budget end
if on then
  local pk = tonumber(current[6]) or draw()
  if entering then pk = cap(pk) end
  if n >= pk then
    n = pk
    qid, qdue = string.sub(rand, 13, 24), now_ms
    redis.call('HSET', play, 'q', qid, 'qt', string.format('%.0f', now_ms))
    redis.call('HDEL', play, 'pk')
  else
    redis.call('HSET', play, 'pk', pk - n)
  end
end
if n > 0 then
  redis.call('HSET', play, 'c', string.format('%.0f', base + n * 1000))
  redis.call('HINCRBY', rec, 'c' .. suffix, n)
end

local b = a + n
if b > a then
  local out, placed = {}, false
  w = 0
  for x, y in string.gmatch(iv, '(%d+),(%d+)') do
    x, y = tonumber(x), tonumber(y)
    if y < a then
      out[#out + 1] = x .. ',' .. y
      w = w + y - x
    elseif x > b then
      if not placed then out[#out + 1] = a .. ',' .. b; w = w + b - a; placed = true end
      out[#out + 1] = x .. ',' .. y
      w = w + y - x
    else
      if x < a then a = x end
      if y > b then b = y end
    end
  end
  if not placed then out[#out + 1] = a .. ',' .. b; w = w + b - a end
  iv = table.concat(out, ',')
end

local newly = (not done) and w >= ratio * dur
if newly then done = true end
redis.call('HSET', ch, 'iv', iv, 'w', w, 'pos', math.floor(position), 'done', done and 1 or 0, 'v', version)
if renew then redis.call('EXPIRE', ch, ttl) end
return reply('ok', newly)
