-- promote: delayed jobs of one queue made waiting now, as if their delay had ended.
-- KEYS[1]  the queue's base
-- ARGV[1]  now   ARGV[2] events channel   ARGV[3] queue   ARGV[4] limit   ARGV[5..] seqs (none: up
--          to `limit` of the delayed jobs; the caller calls again until fewer come back, as purge)
-- Returns  how many were promoted

local B, queue = KEYS[1], ARGV[3]
settle(B, queue)
local seqs = {}
if #ARGV == 4 then
  seqs = seqsOf(redis.call('ZRANGE', B .. ':d', 0, tonumber(ARGV[4]) - 1), 'd')
else
  for i = 5, #ARGV do
    seqs[#seqs + 1] = ARGV[i]
  end
end
local n = 0
for _, seq in ipairs(seqs) do
  local j = load(B, seq)
  if j and j.s == 'd' then
    redis.call('ZREM', B .. ':d', pad(seq))
    requeue(B, queue, seq, j, now)
    save(B, seq, j)
    n = n + 1
  end
end
-- `due` may name a delay that no longer ends: settle's shortcut reads it again, harmlessly.
publish()
return n
