#!lua flags=allow-oom
-- counts: how many jobs of one queue are in each state, the expired count and the paused flag.
-- KEYS[1]  the queue's base
-- ARGV[1]  now   ARGV[2] events channel   ARGV[3] queue
-- Returns  { waiting, delayed, active, dead, completed, expired, paused (1/0) }

local B, queue = KEYS[1], ARGV[3]
settle(B, queue)
local meta = redis.call('HMGET', B .. ':m', 'expired', 'paused')
local out = {
  redis.call('ZCARD', B .. ':w'),
  redis.call('ZCARD', B .. ':d'),
  redis.call('ZCARD', B .. ':a'),
  redis.call('ZCARD', B .. ':x'),
  redis.call('ZCARD', B .. ':c'),
  tonumber(meta[1]) or 0,
  meta[2] and 1 or 0,
}
publish()
return out
