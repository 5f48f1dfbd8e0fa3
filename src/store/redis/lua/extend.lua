#!lua flags=allow-oom
-- extend: a current lease ends `ms` after now.
-- KEYS[1]  the queue's base
-- ARGV[1]  now   ARGV[2] events channel   ARGV[3] queue   ARGV[4] seq   ARGV[5] attempt   ARGV[6] ms
-- Returns  the new leaseUntil, or false when the lease was lost

local B, queue, seq = KEYS[1], ARGV[3], ARGV[4]
settle(B, queue)
local j = leased(B, seq, ARGV[5])
local out = false
if j then
  out = now + tonumber(ARGV[6])
  j.l = text(out)
  save(B, seq, j)
  redis.call('ZADD', B .. ':a', j.l, pad(seq))
  -- An extend may end the lease sooner than it did (job.extend('1m') on a lease of an hour): the
  -- queue's `due` must not stay at the old end, or settle skips the reclaim until then.
  schedule(B, out)
  announce(B, queue, out)
end
publish()
return out
