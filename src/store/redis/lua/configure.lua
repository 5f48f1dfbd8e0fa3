#!lua flags=allow-oom
-- configure: changes some of one queue's stored settings in one step, and answers all of them.
-- KEYS[1]  the queue's base
-- ARGV[1]  now   ARGV[2] events channel   ARGV[3] queue
-- ARGV[4..] field, value pairs of B..':m' (lib.lua): ml maxLength ('' none), ma maxAttempts
--          ('inf'), bo backoff, vis visibilityMs, ttl ttlMs ('' none), kc / ka completed
--          retention ('inf'), kd / kda dead retention ('inf'), paused ('1' paused, '0' not)
-- Returns  { ml, ma, bo, vis, ttl, kc, ka, paused, kd, kda } as stored, false where nothing is

local B, queue = KEYS[1], ARGV[3]
settle(B, queue)
local wasPaused = metaOf[B][4]
local retention = false
for i = 4, #ARGV, 2 do
  local field, value = ARGV[i], ARGV[i + 1]
  if field == 'paused' then
    if value == '1' then
      redis.call('HSET', B .. ':m', 'paused', 1)
    else
      redis.call('HDEL', B .. ':m', 'paused')
    end
  else
    redis.call('HSET', B .. ':m', field, value)
  end
  retention = retention or field == 'kc' or field == 'ka' or field == 'kd' or field == 'kda'
end
local stored = redis.call('HMGET', B .. ':m', 'ml', 'ma', 'bo', 'vis', 'ttl', 'kc', 'ka', 'paused', 'kd', 'kda')
-- What settle read of the dead retention is the new one from here on (pruneDead, recompute).
metaOf[B][6], metaOf[B][7] = stored[9], stored[10]
if retention then
  -- A shorter retention applies now, not at the next ack.
  local count = stored[6] and num(stored[6]) or defaultKeepCount
  local age = stored[7] and num(stored[7]) or defaultKeepAgeMs
  if age ~= math.huge then
    dropAll(B, queue, 'c', seqsOf(redis.call('ZRANGEBYSCORE', B .. ':c', '-inf', now - age), 'c'), false)
  end
  pruneCount(B, queue, 'c', count)
  pruneDead(B, queue)
  recompute(B, age)
end
if wasPaused and not stored[8] then
  markReady(B, queue, nil)
end
publish()
return stored
