-- requeue: jobs of one queue in one state back to waiting now: dead ones with fresh attempts
-- (retry-dead), delayed ones as if their delay had ended (promote).
-- KEYS[1]  the queue's base
-- ARGV[1]  now   ARGV[2] events channel   ARGV[3] queue   ARGV[4] state ('x' dead, 'd' delayed)
-- ARGV[5]  limit   ARGV[6..] seqs (none: up to `limit` of the jobs in that state; the caller calls
--          again until fewer come back, as purge)
-- Returns  how many went back

local B, queue, state = KEYS[1], ARGV[3], ARGV[4]
settle(B, queue)
local seqs = {}
if #ARGV == 5 then
  seqs = seqsOf(redis.call('ZRANGE', B .. setOf[state], 0, tonumber(ARGV[5]) - 1), state)
else
  for i = 6, #ARGV do
    seqs[#seqs + 1] = ARGV[i]
  end
end
local n = 0
for _, seq in ipairs(seqs) do
  local j = load(B, seq)
  if j and j.s == state then
    redis.call('ZREM', B .. setOf[state], pad(seq))
    if state == 'x' then
      j.a, j.f = '', ''
    end
    requeue(B, queue, seq, j, now)
    save(B, seq, j)
    n = n + 1
  end
end
-- A promoted job's `due` may name a delay that no longer ends: settle's shortcut reads it again, harmlessly.
publish()
return n
