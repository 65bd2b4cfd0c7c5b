-- Seed a trainee's chapter state from the database unless it is already there (another
-- request may have loaded it and moved on): never overwrite newer hot state.
-- KEYS[1] chapter hash {t:<id>}:ch:<cid>
-- ARGV: dur, course, iv, w, pos, done, ttl
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'dur', ARGV[1], 'course', ARGV[2], 'iv', ARGV[3], 'w', ARGV[4],
  'pos', ARGV[5], 'done', ARGV[6], 'v', 0)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[7]))
return 1
