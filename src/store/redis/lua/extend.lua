#!lua flags=allow-oom
-- extend: a current lease ends `ms` after now.
-- KEYS[1]  the queue's base
-- ARGV[1]  now   ARGV[2] events channel   ARGV[3] queue   ARGV[4] seq   ARGV[5] attempt   ARGV[6] ms
-- Returns  the new leaseUntil, or false when the lease was lost

local B, queue, seq = KEYS[1], ARGV[3], tonumber(ARGV[4])
settle(B, queue)
local job = leased(B, seq, tonumber(ARGV[5]))
local out = false
if job then
  out = now + tonumber(ARGV[6])
  redis.call('HSET', job, 'l', out)
  redis.call('ZADD', B .. ':a', out, pad(seq))
end
publish()
return out
