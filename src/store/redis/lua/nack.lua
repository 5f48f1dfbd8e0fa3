#!lua flags=allow-oom
-- nack: the holder of a lease gives the job back: failed (retry after a delay, or dead) or released.
-- KEYS[1]  the queue's base
-- ARGV[1]  now   ARGV[2] events channel   ARGV[3] queue   ARGV[4] seq   ARGV[5] attempt
-- ARGV[6]  delay in ms before it is leasable again (a release with 0 keeps its old place in line)
-- ARGV[7]  error ('' for none, else '+' .. message)
-- ARGV[8]  '1': straight to dead   ARGV[9] '1': release (a job never started: the attempt is not counted)
-- Returns  'lost', 'retry' or 'dead'

local B, queue, seq = KEYS[1], ARGV[3], ARGV[4]
settle(B, queue)
local j = leased(B, seq, ARGV[5])
if not j then
  return 'lost'
end
redis.call('ZREM', B .. ':a', pad(seq))
local outcome
if ARGV[9] == '1' then
  -- As if it had never been leased: back to its old place in line, or due after the delay.
  j.a = text(tonumber(j.a) - 1)
  if tonumber(ARGV[6]) > 0 then
    requeue(B, queue, seq, j, now + tonumber(ARGV[6]))
  else
    toWaiting(B, queue, seq, j)
  end
  outcome = 'retry'
else
  j.n = text((tonumber(j.n) or 0) + 1)
  local err = ARGV[7] ~= '' and string.sub(ARGV[7], 2) or nil
  outcome = fail(B, queue, seq, j, err, ARGV[8] == '1', now + tonumber(ARGV[6]))
end
save(B, seq, j)
if outcome == 'dead' then
  pruneDead(B, queue)
end
publish()
return outcome
