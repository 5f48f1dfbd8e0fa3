#!lua flags=allow-oom
-- lease: up to `max` waiting jobs of one queue, in lease order. A lease over several queues
-- calls this once per queue, left to right, so no script touches two slots.
-- KEYS[1]  the queue's base
-- ARGV[1]  now   ARGV[2] events channel   ARGV[3] queue   ARGV[4] max
-- ARGV[5]  lease length in ms for every job, or -1 for each job's own visibilityMs
-- Returns  { nextAt or false, record, record, ... } where nextAt is no later than the earliest
--          time something in the queue becomes leasable by itself (a delay ends, a lease expires)

local B, queue = KEYS[1], ARGV[3]
local max, visibilityMs = tonumber(ARGV[4]), tonumber(ARGV[5])
settle(B, queue)
local out = { false }
if not metaOf[B][4] then
  local popped = redis.call('ZPOPMIN', B .. ':w', max)
  local seqs, valuesOf = {}, {}
  for i = 1, #popped, 2 do
    local seq = seqOfWaiting(popped[i])
    local job = B .. ':' .. seq
    local values = redis.call('HMGET', job, unpack(recordFields))
    local attempts = (tonumber(values[3]) or 0) + 1
    local leaseUntil = now + (visibilityMs < 0 and tonumber(values[10]) or visibilityMs)
    redis.call('HSET', job, 's', 'a', 'a', attempts, 'l', leaseUntil)
    redis.call('ZADD', B .. ':a', leaseUntil, pad(seq))
    schedule(B, leaseUntil)
    values[1], values[3], values[9] = 'a', attempts, leaseUntil
    seqs[#seqs + 1] = seq
    valuesOf[#valuesOf + 1] = values
  end
  for _, record in ipairs(records(B, seqs, valuesOf)) do
    out[#out + 1] = record
  end
end
-- `due` is never later than the next delay or lease end, so a blocked lease wakes in time.
if dueOf[B] ~= math.huge then
  out[1] = dueOf[B]
end
publish()
return out
