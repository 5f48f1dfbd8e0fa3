#!lua flags=allow-oom
-- ack: finishes leased jobs of one queue; keeps them as completed under the queue's retention.
-- KEYS[1]  the queue's base
-- ARGV[1]  now   ARGV[2] events channel   ARGV[3] queue
-- ARGV[4]  keep count ('inf')   ARGV[5] keep age in ms ('inf')
-- ARGV[6..] per token, 3 values: seq, attempt, result ('' for none, else '+' .. bytes)
-- Returns  { 1 (ok) or 0 (lost), ... } per token

local B, queue = KEYS[1], ARGV[3]
local keepCount, keepAge = num(ARGV[4]), num(ARGV[5])
settle(B, queue)
local keeps = keepCount > 0 and keepAge > 0
-- The queue's retention is the last one an ack named, as in the memory store.
local meta = metaOf[B]
local changed = meta[2] ~= ARGV[4] or meta[3] ~= ARGV[5]
if changed then
  redis.call('HSET', B .. ':m', 'kc', ARGV[4], 'ka', ARGV[5])
  recompute(B, keepAge)
end
local out = {}
for i = 6, #ARGV, 3 do
  local seq = tonumber(ARGV[i])
  local job = leased(B, seq, tonumber(ARGV[i + 1]))
  if job then
    if keeps then
      redis.call('ZREM', B .. ':a', pad(seq))
      if ARGV[i + 2] ~= '' then
        redis.call('HSET', B .. ':r', seq, string.sub(ARGV[i + 2], 2))
      end
      finish(B, queue, seq, job, 'c')
      if keepAge ~= math.huge then
        schedule(B, now + keepAge)
      end
      events[#events + 1] = 'completed\t' .. queue .. '\t' .. queue .. ':' .. seq
    else
      drop(B, queue, seq, 'a', 'completed')
    end
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
if keeps then
  pruneCount(B, queue, keepCount)
elseif changed then
  pruneCount(B, queue, 0)
end
publish()
return out
