-- hold: waiting jobs of one queue out of line without a lease (Disque's DEQUEUE), each delayed by
-- its own visibilityMs; no attempt is counted.
-- KEYS[1]  the queue's base
-- ARGV[1]  now   ARGV[2] events channel   ARGV[3] queue   ARGV[4..] seqs
-- Returns  the seqs held

local B, queue = KEYS[1], ARGV[3]
settle(B, queue)
local out = {}
for i = 4, #ARGV do
  local seq = ARGV[i]
  local j = load(B, seq)
  if j and j.s == 'w' then
    redis.call('ZREM', B .. ':w', waitMember(j.t, seq))
    requeue(B, queue, seq, j, now + (tonumber(j.v) or 0))
    save(B, seq, j)
    out[#out + 1] = seq
  end
end
publish()
return out
