#!lua flags=allow-oom
-- remove: jobs of one queue by number, in any of the given states.
-- KEYS[1]  the queue's base
-- ARGV[1]  now   ARGV[2] events channel   ARGV[3] queue
-- ARGV[4]  state letters to remove from ('' for every state)   ARGV[5..] seqs
-- Returns  the seqs removed

local B, queue, states = KEYS[1], ARGV[3], ARGV[4]
settle(B, queue)
local out = {}
for i = 5, #ARGV do
  local seq = ARGV[i]
  local j = load(B, seq)
  if j and (states == '' or string.find(states, j.s, 1, true)) then
    dropAll(B, queue, j.s, { seq }, 'removed')
    out[#out + 1] = seq
  end
end
publish()
return out
