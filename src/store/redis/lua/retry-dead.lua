-- retry-dead: dead jobs of one queue back to waiting with fresh attempts.
-- KEYS[1]  the queue's base
-- ARGV[1]  now   ARGV[2] events channel   ARGV[3] queue   ARGV[4] limit   ARGV[5..] seqs (none: up
--          to `limit` of the dead jobs; the caller calls again until fewer come back, as purge)
-- Returns  how many went back

local B, queue = KEYS[1], ARGV[3]
settle(B, queue)
local seqs = {}
if #ARGV == 4 then
  seqs = seqsOf(redis.call('ZRANGE', B .. ':x', 0, tonumber(ARGV[4]) - 1), 'x')
else
  for i = 5, #ARGV do
    seqs[#seqs + 1] = ARGV[i]
  end
end
local n = 0
for _, seq in ipairs(seqs) do
  local j = load(B, seq)
  if j and j.s == 'x' then
    redis.call('ZREM', B .. ':x', pad(seq))
    j.a, j.f = '', ''
    requeue(B, queue, seq, j, now)
    save(B, seq, j)
    n = n + 1
  end
end
publish()
return n
