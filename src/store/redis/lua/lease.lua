#!lua flags=allow-oom
-- lease: up to `max` waiting jobs of one queue, in lease order. A lease over several queues
-- calls this once per queue, left to right, so no script touches two slots. Acks of the same
-- queue may ride along (a worker's finished jobs, then its next ones: one call, one AOF fsync);
-- they are applied first, at their own `now`, exactly as ack.lua would.
-- KEYS[1]  the queue's base
-- ARGV[1]  now   ARGV[2] events channel   ARGV[3] queue   ARGV[4] max
-- ARGV[5]  lease length in ms for every job, or -1 for each job's own visibilityMs
-- ARGV[6]  the sleeper, or '' for none: who sleeps if this finds nothing   ARGV[7] until when
-- ARGV[8]  the acks' now, or '' for no acks
-- ARGV[9..] per ack, 3 values: seq, attempt, result ('' for none, else '+' .. bytes)
-- Returns  { nextAt or false, k, k ack results (1 ok, 0 lost), record, record, ... } where nextAt
--          is no later than the earliest time something in the queue becomes leasable by
--          itself (a delay ends, a lease expires)

local B, queue = KEYS[1], ARGV[3]
local out = { false, 0 }
if ARGV[8] ~= '' then
  setNow(ARGV[8])
  settle(B, queue)
  local acked = ackAll(B, queue, 9)
  setNow(ARGV[1])
  out[2] = #acked
  for _, ok in ipairs(acked) do
    out[#out + 1] = ok
  end
end
settle(B, queue)
local leased = leaseUpTo(B, queue, tonumber(ARGV[4]), tonumber(ARGV[5]))
for _, record in ipairs(leased) do
  out[#out + 1] = record
end
-- A sleeper that found nothing is noted for the ready events (lib.lua readyLine) until it asks
-- again; one that found jobs is not asleep any more.
if #leased == 0 then
  told(B, dueOf[B])
end
if ARGV[6] ~= '' then
  if #leased == 0 then
    redis.call('ZADD', B .. ':s', ARGV[7], ARGV[6])
  else
    redis.call('ZREM', B .. ':s', ARGV[6])
  end
end
-- `due` is never later than the next delay or lease end, so a blocked lease wakes in time.
if dueOf[B] ~= math.huge then
  out[1] = dueOf[B]
end
publish()
return out
