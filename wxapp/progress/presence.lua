-- An answer to a presence check (防挂机), on the trainee's play hash {t:<id>}:play (see
-- beacon.lua for its fields). Mirrors wxapp/progress/core.py answer_check.
-- KEYS[1] play hash
-- KEYS[2] learning record hash {t:<id>}:rec (beacon.lua): the answer counts for the play in
--         the chapter it is on
-- ARGV: play_id, check_id, now (epoch s, "%.3f"), answer ms, rand (24 hex), min s, max s
-- Returns {status, chapter id}: ok, paused (too late), superseded, unknown
local play, rec = KEYS[1], KEYS[2]
local play_id, check_id = ARGV[1], ARGV[2]
local now_ms = math.floor(tonumber(ARGV[3]) * 1000 + 0.5)
local answer_ms, rand, pmin, pmax = tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])

local function draw()
  local u = tonumber(string.sub(rand, 1, 6), 16) / 16777216
  return pmin + math.floor(u * (pmax - pmin + 1))
end

local current = redis.call('HMGET', play, 'id', 'q', 'qt', 'pz', 'qa', 'ch', 'c')
if current[1] ~= play_id then return {'superseded'} end
if current[4] == play_id then return {'paused'} end
if current[2] ~= check_id then
  if not current[2] and current[5] == check_id then return {'ok'} end -- a second tap
  return {'unknown'}
end
local suffix = ':' .. current[6] .. ':' .. play_id
redis.call('HDEL', play, 'q', 'qt')
redis.call('HSET', play, 'pk', draw())
redis.call('HINCRBY', rec, 'v', 1)
if now_ms > tonumber(current[3]) + answer_ms then
  redis.call('HSET', play, 'pz', play_id)
  redis.call('HINCRBY', play, 'qm', 1)
  redis.call('HINCRBY', rec, 'qm' .. suffix, 1)
  return {'paused', current[6]}
end
redis.call('HSET', play, 'qa', check_id)
-- Nothing was credited while the check waited, nor may it be after: the credit clock (c,
-- beacon.lua) moves up to the answer.
if (tonumber(current[7]) or 0) < now_ms then
  redis.call('HSET', play, 'c', string.format('%.0f', now_ms))
end
redis.call('HINCRBY', play, 'qp', 1)
redis.call('HINCRBY', rec, 'qp' .. suffix, 1)
return {'ok', current[6]}
