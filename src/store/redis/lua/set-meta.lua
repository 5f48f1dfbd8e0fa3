-- set-meta: writes core's meta documents in one step.
-- KEYS[1]  the store's meta hash '<prefix>:meta'
-- ARGV[1]  now (unused)   ARGV[2] events channel (unused)
-- ARGV[3..] pairs: name, value ('' deletes, else '+' .. document)

for i = 3, #ARGV, 2 do
  if ARGV[i + 1] == '' then
    redis.call('HDEL', KEYS[1], ARGV[i])
  else
    redis.call('HSET', KEYS[1], ARGV[i], string.sub(ARGV[i + 1], 2))
  end
end
return 1
