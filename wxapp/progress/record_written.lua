-- The flusher wrote these plays to the database: drop the finished ones from the learning
-- record hash (beacon.lua describes its fields). A play is finished when it is no longer
-- the trainee's current play; it is dropped only if no beacon touched it since it was read
-- (its last beacon time is the one written), so nothing unwritten is ever lost.
-- KEYS[1] play hash {t:<id>}:play, KEYS[2] learning record hash {t:<id>}:rec
-- ARGV: suffix 1, last beacon ms 1, suffix 2, ... (suffix ":<chapter>:<play id>")
-- Returns the number of plays dropped.
local current = redis.call('HGET', KEYS[1], 'id')
local dropped = 0
for i = 1, #ARGV, 2 do
  local suffix = ARGV[i]
  local play_id = string.match(suffix, '^:%d+:(.*)$')
  if play_id ~= current and redis.call('HGET', KEYS[2], 'e' .. suffix) == ARGV[i + 1] then
    redis.call('HDEL', KEYS[2], 's' .. suffix, 'e' .. suffix, 'c' .. suffix, 'qp' .. suffix,
      'qm' .. suffix, 'd' .. suffix, 'a' .. suffix)
    dropped = dropped + 1
  end
end
return dropped
