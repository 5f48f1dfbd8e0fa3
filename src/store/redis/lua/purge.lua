#!lua flags=allow-oom
-- purge: removes up to `limit` jobs of one queue that are not active; the caller calls again
-- until fewer come back, so no one call blocks Redis for long (a million jobs in one script
-- held every other client for seconds).
-- KEYS[1]  the queue's base
-- ARGV[1]  now   ARGV[2] events channel   ARGV[3] queue   ARGV[4] limit
-- Returns  how many were removed

local B, queue, limit = KEYS[1], ARGV[3], tonumber(ARGV[4])
settle(B, queue)
local n = 0
for _, state in ipairs({ 'w', 'd', 'x', 'c' }) do
  if n >= limit then break end
  local seqs = seqsOf(redis.call('ZRANGE', B .. setOf[state], 0, limit - n - 1), state)
  dropAll(B, queue, state, seqs, 'removed')
  n = n + #seqs
end
publish()
return n
