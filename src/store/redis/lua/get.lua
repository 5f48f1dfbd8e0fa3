#!lua flags=allow-oom
-- get: jobs of one queue by number.
-- KEYS[1]  the queue's base
-- ARGV[1]  now   ARGV[2] events channel   ARGV[3] queue   ARGV[4..] seqs
-- Returns  one record per seq; a job not in the store has a record of nulls after its seq

local B, queue = KEYS[1], ARGV[3]
settle(B, queue)
local seqs = {}
for i = 4, #ARGV do
  seqs[#seqs + 1] = ARGV[i]
end
local out = records(B, seqs)
publish()
return out
