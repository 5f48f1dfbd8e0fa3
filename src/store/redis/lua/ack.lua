#!lua flags=allow-oom
-- ack: finishes leased jobs of one queue; keeps them as completed under the queue's retention.
-- KEYS[1]  the queue's base
-- ARGV[1]  now   ARGV[2] events channel   ARGV[3] queue
-- ARGV[4..] per token, 3 values: seq, attempt, result ('' for none, else '+' .. bytes)
-- Returns  { 1 (ok) or 0 (lost), ... } per token

local B, queue = KEYS[1], ARGV[3]
settle(B, queue)
local out = ackAll(B, queue, 4)
publish()
return out
