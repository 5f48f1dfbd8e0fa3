-- Shared by every script: scripts.ts puts this file in front of each one. It knows one queue's
-- key layout and applies what `now` makes due (settle), so no reaper has to stay alive.
--
-- All keys of a queue share the hash tag of B = '{<prefix>:<queue>}' (one Cluster slot):
--   B..':m'      hash   seq (last job number), expired (count), paused, kc / ka (completed retention)
--   B..':w'      zset   waiting: score -priority, member readyAt (13 digits) .. seq (16 digits)
--   B..':d'      zset   delayed: score availableAt, member pad(seq)
--   B..':a'      zset   active: score leaseUntil, member pad(seq)
--   B..':x'      zset   dead: score finishedAt, member pad(seq)
--   B..':c'      zset   completed: score finishedAt, member pad(seq)
--   B..':t'      zset   TTL: score expiresAt, member pad(seq)
--   B..':k'      hash   idempotency key -> seq
--   B..':'..seq  hash   the job: s state (w d a x c), d payload, p priority, a attempts, m maxAttempts,
--                       n nacks, c createdAt, t availableAt (= readyAt), e expiresAt, l leaseUntil,
--                       v visibilityMs, b backoff 'kind,delayMs,maxDelayMs,jitter', k key,
--                       h errors (JSON array), r result, f finishedAt. Absent means null or 0.
-- Every script has ARGV[1] = now (ms), ARGV[2] = the events channel. Events are collected and
-- published as one message at the end: lines 'ready\t<queue>' or '<outcome>\t<queue>\t<id>'.

local now = tonumber(ARGV[1])
local channel = ARGV[2]
local events = {}
local errorHistory = 10
local setOf = { w = ':w', d = ':d', a = ':a', x = ':x', c = ':c' }

local function publish()
  if #events > 0 then
    redis.call('PUBLISH', channel, table.concat(events, '\n'))
  end
end

local function pad(seq)
  return string.format('%016d', seq)
end

local function waitMember(readyAt, seq)
  return string.format('%013d%016d', readyAt, seq)
end

local function seqOfWaiting(member)
  return tonumber(string.sub(member, 14))
end

local function num(value)
  if value == 'inf' then
    return math.huge
  end
  return tonumber(value)
end

-- contract.ts backoffDelayMs, exactly: JavaScript's Math.round(x) is floor(x + 0.5).
local function backoffDelayMs(spec, attempt, random)
  local kind, delayMs, maxDelayMs, jitter = string.match(spec, '^([^,]+),([^,]+),([^,]+),([^,]+)$')
  local raw = tonumber(delayMs)
  if kind ~= 'fixed' then
    raw = raw * 2 ^ math.max(0, attempt - 1)
  end
  local capped = math.min(raw, tonumber(maxDelayMs))
  return math.floor(capped * (1 - tonumber(jitter) * random) + 0.5)
end

local function unplace(B, seq, state)
  if state == 'w' then
    local availableAt = tonumber(redis.call('HGET', B .. ':' .. seq, 't'))
    redis.call('ZREM', B .. ':w', waitMember(availableAt, seq))
  else
    redis.call('ZREM', B .. setOf[state], pad(seq))
  end
end

local function toWaiting(B, queue, seq, job, availableAt)
  local priority = tonumber(redis.call('HGET', job, 'p')) or 0
  redis.call('HSET', job, 's', 'w')
  redis.call('ZADD', B .. ':w', -priority, waitMember(availableAt, seq))
  events[#events + 1] = 'ready\t' .. queue
end

-- Back in line at `availableAt`: waiting when that is not in the future, else delayed.
local function requeue(B, queue, seq, job, availableAt)
  redis.call('HSET', job, 't', availableAt)
  if availableAt > now then
    redis.call('HSET', job, 's', 'd')
    redis.call('ZADD', B .. ':d', availableAt, pad(seq))
  else
    toWaiting(B, queue, seq, job, availableAt)
  end
end

-- Takes the job out of the store; tells watchers unless `outcome` is false (retention pruning).
local function drop(B, queue, seq, state, outcome)
  local job = B .. ':' .. seq
  unplace(B, seq, state)
  local fields = redis.call('HMGET', job, 'k', 'e')
  if fields[1] and redis.call('HGET', B .. ':k', fields[1]) == tostring(seq) then
    redis.call('HDEL', B .. ':k', fields[1])
  end
  if fields[2] then
    redis.call('ZREM', B .. ':t', pad(seq))
  end
  redis.call('DEL', job)
  if outcome then
    events[#events + 1] = outcome .. '\t' .. queue .. '\t' .. queue .. ':' .. seq
  end
end

local function finish(B, queue, seq, job, state)
  redis.call('HSET', job, 's', state, 'f', now)
  redis.call('ZADD', B .. setOf[state], now, pad(seq))
end

-- The attempt of an active job (already out of the active set) failed: retry at `retryAt`, or dead.
local function fail(B, queue, seq, job, err, dead, retryAt)
  redis.call('HDEL', job, 'l')
  if err then
    local raw = redis.call('HGET', job, 'h')
    local history = raw and cjson.decode(raw) or {}
    history[#history + 1] = err
    while #history > errorHistory do
      table.remove(history, 1)
    end
    redis.call('HSET', job, 'h', cjson.encode(history))
  end
  local fields = redis.call('HMGET', job, 'a', 'm')
  if dead or (tonumber(fields[1]) or 0) >= num(fields[2]) then
    finish(B, queue, seq, job, 'x')
    events[#events + 1] = 'dead\t' .. queue .. '\t' .. queue .. ':' .. seq
    return 'dead'
  end
  requeue(B, queue, seq, job, retryAt)
  return 'retry'
end

local function pruneCompleted(B, queue)
  local keep = redis.call('HMGET', B .. ':m', 'kc', 'ka')
  if not keep[1] then
    return
  end
  local ageMs = num(keep[2])
  if ageMs ~= math.huge then
    for _, member in ipairs(redis.call('ZRANGEBYSCORE', B .. ':c', '-inf', now - ageMs)) do
      drop(B, queue, tonumber(member), 'c', false)
    end
  end
  local count = num(keep[1])
  local excess = redis.call('ZCARD', B .. ':c') - count
  if excess > 0 then
    for _, member in ipairs(redis.call('ZRANGE', B .. ':c', 0, excess - 1)) do
      drop(B, queue, tonumber(member), 'c', false)
    end
  end
end

-- Applies what `now` makes due in the queue: TTLs, delays, expired leases, completed retention.
local function settle(B, queue)
  local gone = redis.call('ZRANGEBYSCORE', B .. ':t', '-inf', now)
  for _, member in ipairs(gone) do
    local seq = tonumber(member)
    drop(B, queue, seq, redis.call('HGET', B .. ':' .. seq, 's'), 'expired')
  end
  if #gone > 0 then
    redis.call('HINCRBY', B .. ':m', 'expired', #gone)
  end
  local due = redis.call('ZRANGEBYSCORE', B .. ':d', '-inf', now, 'WITHSCORES')
  if #due > 0 then
    redis.call('ZREMRANGEBYSCORE', B .. ':d', '-inf', now)
    for i = 1, #due, 2 do
      local seq = tonumber(due[i])
      local job = B .. ':' .. seq
      local priority = tonumber(redis.call('HGET', job, 'p')) or 0
      redis.call('HSET', job, 's', 'w')
      redis.call('ZADD', B .. ':w', -priority, waitMember(tonumber(due[i + 1]), seq))
    end
  end
  local expired = redis.call('ZRANGEBYSCORE', B .. ':a', '-inf', now, 'WITHSCORES')
  for i = 1, #expired, 2 do
    local seq = tonumber(expired[i])
    local job = B .. ':' .. seq
    redis.call('ZREM', B .. ':a', expired[i])
    local fields = redis.call('HMGET', job, 'a', 'b')
    -- No jitter: expiries are spread in time already, and reclaim stays a pure function of the job.
    local retryAt = tonumber(expired[i + 1]) + backoffDelayMs(fields[2], tonumber(fields[1]) or 0, 0)
    fail(B, queue, seq, job, 'lease expired', false, retryAt)
  end
  pruneCompleted(B, queue)
end

-- The job behind a token whose lease is current, or nil.
local function leased(B, seq, attempt)
  local job = B .. ':' .. seq
  local fields = redis.call('HMGET', job, 's', 'a', 'l')
  if fields[1] == 'a' and tonumber(fields[2]) == attempt and tonumber(fields[3]) > now then
    return job
  end
  return nil
end

local recordFields = { 's', 'd', 'p', 'a', 'm', 'n', 'c', 't', 'e', 'l', 'v', 'b', 'k', 'h', 'r', 'f' }

-- { seq, <recordFields values> }: what records.ts decodes.
local function record(B, seq)
  local values = redis.call('HMGET', B .. ':' .. seq, unpack(recordFields))
  table.insert(values, 1, seq)
  return values
end
