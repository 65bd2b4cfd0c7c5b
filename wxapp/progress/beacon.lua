-- One beacon, applied atomically on the keys of one trainee (hash tag {t:<id>}, one slot).
-- Mirrors wxapp/progress/core.py apply_beacon; time comes from the app clock (ARGV), never
-- from Redis TIME, so tests can simulate real time.
--
-- KEYS[1] play hash     {t:<id>}:play       id, last (epoch s), seq, ch (chapter of that seq)
-- KEYS[2] chapter hash  {t:<id>}:ch:<cid>   iv ("a,b,c,d"), w, pos, dur, course, done, v
-- KEYS[3] entitlements  {t:<id>}:ent        c:<course> -> plan id; p:<plan> -> "done|required|0/1";
--                                           k:<course> -> 1 when learned
-- KEYS[4] superseded    {t:<id>}:old        zset of play ids that were taken over
-- KEYS[5] rate counter  {t:<id>}:rl:beacon:<window>  beacons in this window (wxapp/infra/limits.py)
-- KEYS[6] ended sessions {t:<id>}:sess      ep (session epoch), x:<session id> (ended one by one)
--                                           (wxapp/accounts/session_ends.py)
-- ARGV: play_id, seq, from, to, position, now, slack, ratio, ttl, chapter id,
--       rate limit, rate window (s), the cookie's session epoch, x:<its session id>
-- Returns {status, w, dur, done, newly, course, plan, plan_info, course_done, field}

local play, ch, ent, old = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local play_id, seq = ARGV[1], tonumber(ARGV[2])
local from, to, position = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local now, slack, ratio, ttl = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])

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
  return {'nochapter'}
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

local function reply(status, newly)
  local info = redis.call('HGET', ent, 'p:' .. plan) or ''
  return {status, w, dur, done and 1 or 0, newly and 1 or 0, course, plan, info, learned, ''}
end

local current = redis.call('HMGET', play, 'id', 'last', 'seq', 'ch')
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
  -- a new play opens: it credits nothing
  redis.call('HSET', play, 'id', play_id, 'last', ARGV[6], 'seq', ARGV[2], 'ch', ARGV[10])
  redis.call('EXPIRE', play, ttl)
  redis.call('HSET', ch, 'pos', math.floor(position), 'v', version)
  redis.call('EXPIRE', ch, ttl)
  return reply('ok', false)
end

-- seq counts within a chapter of the play: a player moving on may start again at 0
if current[4] == ARGV[10] and seq <= tonumber(current[3]) then
  return reply('stale', false) -- replayed or out of order: the union already has it
end

local last = tonumber(current[2])
local elapsed = now - last
if elapsed < 0 then elapsed = 0 end
local credit_to = math.min(to, from + elapsed + slack)
redis.call('HSET', play, 'last', ARGV[6], 'seq', ARGV[2], 'ch', ARGV[10])
-- The TTLs (a week) are renewed once an hour of a play, and when it moves to a chapter:
-- not on every beacon.
local renew = current[4] ~= ARGV[10] or math.floor(now / 3600) ~= math.floor(last / 3600)
if renew then redis.call('EXPIRE', play, ttl) end

local a, b = math.floor(from), math.floor(credit_to)
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
