#!lua flags=allow-oom
-- lease: up to `max` waiting jobs of one queue, in lease order. A lease over several queues
-- calls this once per queue, left to right, so no script touches two slots.
-- KEYS[1]  the queue's base
-- ARGV[1]  now   ARGV[2] events channel   ARGV[3] queue   ARGV[4] max
-- ARGV[5]  lease length in ms for every job, or -1 for each job's own visibilityMs
-- Returns  { nextAt or false, record, record, ... } where nextAt is the earliest time something
--          in the queue becomes leasable by itself (a delay ends, a lease expires)

local B, queue = KEYS[1], ARGV[3]
local max, visibilityMs = tonumber(ARGV[4]), tonumber(ARGV[5])
settle(B, queue)
local out = { false }
if not redis.call('HGET', B .. ':m', 'paused') then
  local popped = redis.call('ZPOPMIN', B .. ':w', max)
  for i = 1, #popped, 2 do
    local seq = seqOfWaiting(popped[i])
    local job = B .. ':' .. seq
    local length = visibilityMs
    if length < 0 then
      length = tonumber(redis.call('HGET', job, 'v'))
    end
    local leaseUntil = now + length
    redis.call('HINCRBY', job, 'a', 1)
    redis.call('HSET', job, 's', 'a', 'l', leaseUntil)
    redis.call('ZADD', B .. ':a', leaseUntil, pad(seq))
    out[#out + 1] = record(B, seq)
  end
end
local nextDelay = redis.call('ZRANGE', B .. ':d', 0, 0, 'WITHSCORES')[2]
local nextExpiry = redis.call('ZRANGE', B .. ':a', 0, 0, 'WITHSCORES')[2]
if nextDelay and nextExpiry then
  out[1] = math.min(tonumber(nextDelay), tonumber(nextExpiry))
else
  out[1] = tonumber(nextDelay or nextExpiry) or false
end
publish()
return out
