-- An answer to a presence check (防挂机), on the trainee's play hash {t:<id>}:play (see
-- beacon.lua for its fields). Mirrors wxapp/progress/core.py answer_check.
-- KEYS[1] play hash
-- ARGV: play_id, check_id, now (epoch s, "%.3f"), answer ms, rand (24 hex), min s, max s
-- Returns {status, passed, missed}: ok, paused (too late), superseded, unknown
local play = KEYS[1]
local play_id, check_id = ARGV[1], ARGV[2]
local now_ms = math.floor(tonumber(ARGV[3]) * 1000 + 0.5)
local answer_ms, rand, pmin, pmax = tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])

local function draw()
  local u = tonumber(string.sub(rand, 1, 6), 16) / 16777216
  return pmin + math.floor(u * (pmax - pmin + 1))
end

local current = redis.call('HMGET', play, 'id', 'q', 'qt', 'pz', 'qa')
if current[1] ~= play_id then return {'superseded'} end
if current[4] == play_id then return {'paused'} end
if current[2] ~= check_id then
  if not current[2] and current[5] == check_id then return {'ok'} end -- a second tap
  return {'unknown'}
end
redis.call('HDEL', play, 'q', 'qt')
redis.call('HSET', play, 'pk', draw())
if now_ms > tonumber(current[3]) + answer_ms then
  redis.call('HSET', play, 'pz', play_id)
  redis.call('HINCRBY', play, 'qm', 1)
  return {'paused'}
end
redis.call('HSET', play, 'qa', check_id)
redis.call('HINCRBY', play, 'qp', 1)
return {'ok'}
