#!lua flags=allow-oom
-- list: a page of the jobs of one queue in one state, in the order a listing shows them
-- (waiting: lease order; delayed: due time; active: lease end; dead, completed: when they finished).
-- KEYS[1]  the queue's base
-- ARGV[1]  now   ARGV[2] events channel   ARGV[3] queue
-- ARGV[4]  state letter (w d a x c)   ARGV[5] offset   ARGV[6] limit
-- Returns  { more (1/0), record, ... }; peek is list of waiting from offset 0

local B, queue, state = KEYS[1], ARGV[3], ARGV[4]
local offset, limit = tonumber(ARGV[5]), tonumber(ARGV[6])
settle(B, queue)
local members = redis.call('ZRANGE', B .. setOf[state], offset, offset + limit)
local more = #members > limit
members[limit + 1] = nil
local out = { more and 1 or 0 }
for _, record in ipairs(records(B, seqsOf(members, state))) do
  out[#out + 1] = record
end
publish()
return out
