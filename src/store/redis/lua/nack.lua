#!lua flags=allow-oom
-- nack: the holder of a lease gives the job back: failed (retry after a delay, or dead), released or
-- requeued (contract.ts NackKind).
-- KEYS[1]  the queue's base
-- ARGV[1]  now   ARGV[2] events channel   ARGV[3] queue   ARGV[4] seq   ARGV[5] attempt
-- ARGV[6]  delay in ms before it is leasable again (a release with 0 keeps its old place in line)
-- ARGV[7]  error ('' for none, else '+' .. message); a requeue keeps it only when the job goes dead
-- ARGV[8]  kind: 'fail', 'dead', 'release' or 'requeue'
-- Returns  'lost', 'retry' or 'dead'

local B, queue, seq = KEYS[1], ARGV[3], ARGV[4]
settle(B, queue)
local j = leased(B, seq, ARGV[5])
if not j then
  return 'lost'
end
redis.call('ZREM', B .. ':a', pad(seq))
local kind = ARGV[8]
local err = ARGV[7] ~= '' and string.sub(ARGV[7], 2) or nil
local outcome
if kind == 'release' then
  -- As if it had never been leased: back to its old place in line, or due after the delay.
  j.a = text(tonumber(j.a) - 1)
  if tonumber(ARGV[6]) > 0 then
    requeue(B, queue, seq, j, now + tonumber(ARGV[6]))
  else
    toWaiting(B, queue, seq, j)
  end
  outcome = 'retry'
elseif kind == 'requeue' then
  -- As if the lease ran out now, but to its old place in line: the attempt counts, no nack, no
  -- error; dead on the last attempt, as a reclaim does, and then with its error.
  if (tonumber(j.a) or 0) >= num(j.m) then
    outcome = fail(B, queue, seq, j, err, true, now)
  else
    toWaiting(B, queue, seq, j)
    outcome = 'retry'
  end
else
  j.n = text((tonumber(j.n) or 0) + 1)
  outcome = fail(B, queue, seq, j, err, kind == 'dead', now + tonumber(ARGV[6]))
end
save(B, seq, j)
if outcome == 'dead' then
  pruneDead(B, queue)
end
publish()
return outcome
