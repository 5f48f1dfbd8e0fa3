#!lua flags=allow-oom
-- purge: removes every job of one queue that is not active.
-- KEYS[1]  the queue's base
-- ARGV[1]  now   ARGV[2] events channel   ARGV[3] queue
-- Returns  how many were removed

local B, queue = KEYS[1], ARGV[3]
settle(B, queue)
local n = 0
for _, state in ipairs({ 'w', 'd', 'x', 'c' }) do
  local seqs = seqsOf(redis.call('ZRANGE', B .. setOf[state], 0, -1), state)
  dropAll(B, queue, state, seqs, 'removed')
  n = n + #seqs
end
publish()
return n
