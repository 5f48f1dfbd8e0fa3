#!lua flags=allow-oom
-- pause: leases stop taking from one queue ('1'), or start again ('0').
-- KEYS[1]  the queue's base
-- ARGV[1]  now   ARGV[2] events channel   ARGV[3] queue   ARGV[4] '1' pause, '0' resume

local B, queue = KEYS[1], ARGV[3]
settle(B, queue)
if ARGV[4] == '1' then
  redis.call('HSET', B .. ':m', 'paused', 1)
else
  redis.call('HDEL', B .. ':m', 'paused')
  markReady(B, queue, nil)
end
publish()
return 1
