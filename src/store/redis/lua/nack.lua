#!lua flags=allow-oom
-- nack: the holder of a lease gives the job back: failed (retry after a delay, or dead) or released.
-- KEYS[1]  the queue's base
-- ARGV[1]  now   ARGV[2] events channel   ARGV[3] queue   ARGV[4] seq   ARGV[5] attempt
-- ARGV[6]  delay in ms before it is leasable again
-- ARGV[7]  error ('' for none, else '+' .. message)
-- ARGV[8]  '1': straight to dead   ARGV[9] '1': release (a job never started: the attempt is not counted)
-- Returns  'lost', 'retry' or 'dead'

local B, queue, seq = KEYS[1], ARGV[3], tonumber(ARGV[4])
settle(B, queue)
local job = leased(B, seq, tonumber(ARGV[5]))
if not job then
  return 'lost'
end
redis.call('ZREM', B .. ':a', pad(seq))
local outcome
if ARGV[9] == '1' then
  -- Back to its old place in line, as if it had never been leased.
  redis.call('HINCRBY', job, 'a', -1)
  toWaiting(B, queue, seq, job, tonumber(redis.call('HGET', job, 't')))
  outcome = 'retry'
else
  redis.call('HINCRBY', job, 'n', 1)
  local err = ARGV[7] ~= '' and string.sub(ARGV[7], 2) or nil
  outcome = fail(B, queue, seq, job, err, ARGV[8] == '1', now + tonumber(ARGV[6]))
end
publish()
return outcome
