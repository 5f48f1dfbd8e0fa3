-- Shared by every script: scripts.ts puts this file in front of each one. It knows one queue's
-- key layout and applies what `now` makes due (settle), so no reaper has to stay alive.
--
-- All keys of a queue share the hash tag of B = '{<prefix>:<queue>}' (one Cluster slot):
--   B..':m'      hash   seq (last job number), expired (count), paused, kc / ka (completed retention),
--                       due (no delay, lease, TTL or retention ends before it: settle's shortcut)
--   B..':w'      zset   waiting: score -priority, member readyAt (13 digits) .. seq (16 digits)
--   B..':d'      zset   delayed: score availableAt, member pad(seq)
--   B..':a'      zset   active: score leaseUntil, member pad(seq)
--   B..':x'      zset   dead: score finishedAt, member pad(seq)
--   B..':c'      zset   completed: score finishedAt, member pad(seq)
--   B..':t'      zset   TTL: score expiresAt, member pad(seq)
--   B..':k'      hash   idempotency key -> seq
--   B..':p'      hash   seq -> payload
--   B..':r'      hash   seq -> result, while completed
--   B..':'..seq  hash   the job: s state (w d a x c), p priority, a attempts, m maxAttempts,
--                       n nacks, c createdAt, t availableAt (= readyAt), e expiresAt, l leaseUntil
--                       (meaningful only while active: it is left behind, one call fewer per ack),
--                       v visibilityMs, b backoff 'kind,delayMs,maxDelayMs,jitter', k key,
--                       h errors (JSON array), f finishedAt. Absent means null or 0.
-- Payloads and results live in the queue's hashes, not the job's: a value over 64 bytes would
-- turn the job's compact listpack into a hash table, three times the memory per job.
-- Every script has ARGV[1] = now (ms), ARGV[2] = the events channel. Events are collected and
-- published as one message at the end: lines 'ready\t<queue>' or '<outcome>\t<queue>\t<id>'.

local now = tonumber(ARGV[1])
local channel = ARGV[2]
local events = {}
local errorHistory = 10
local setOf = { w = ':w', d = ':d', a = ':a', x = ':x', c = ':c' }
-- Per queue, for this call: the meta fields settle read, and `due` as it stands now.
local metaOf = {}
local dueOf = {}

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

-- Something in the queue falls due at `at`: `due` stays at or before every such time.
local function schedule(B, at)
  if at < dueOf[B] then
    dueOf[B] = at
    redis.call('HSET', B .. ':m', 'due', at)
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
  if availableAt > now then
    redis.call('HSET', job, 't', availableAt, 's', 'd')
    redis.call('ZADD', B .. ':d', availableAt, pad(seq))
    schedule(B, availableAt)
  else
    redis.call('HSET', job, 't', availableAt)
    toWaiting(B, queue, seq, job, availableAt)
  end
end

-- `command [key] item item ...` over `items`, a few hundred at a time (Lua's stack is bounded).
local function each(command, key, items)
  for from = 1, #items, 500 do
    local to = math.min(from + 499, #items)
    if key then
      redis.call(command, key, unpack(items, from, to))
    else
      redis.call(command, unpack(items, from, to))
    end
  end
end

-- Takes jobs, all in `state`, out of the store; tells watchers unless `outcome` is false
-- (retention pruning). Bulk, because pruning and purging take many at a time.
local function dropAll(B, queue, state, seqs, outcome)
  local jobs, members = {}, {}
  for i, seq in ipairs(seqs) do
    jobs[i] = B .. ':' .. seq
    local fields = redis.call('HMGET', jobs[i], 't', 'k', 'e')
    members[i] = state == 'w' and waitMember(tonumber(fields[1]), seq) or pad(seq)
    if fields[2] and redis.call('HGET', B .. ':k', fields[2]) == tostring(seq) then
      redis.call('HDEL', B .. ':k', fields[2])
    end
    if fields[3] then
      redis.call('ZREM', B .. ':t', pad(seq))
    end
    if outcome then
      events[#events + 1] = outcome .. '\t' .. queue .. '\t' .. queue .. ':' .. seq
    end
  end
  if #seqs > 0 then
    each('ZREM', B .. setOf[state], members)
    each('DEL', false, jobs)
    each('HDEL', B .. ':p', seqs)
    if state == 'c' then
      each('HDEL', B .. ':r', seqs)
    end
  end
end

local function drop(B, queue, seq, state, outcome)
  dropAll(B, queue, state, { seq }, outcome)
end

local function seqsOf(members, state)
  local seqs = {}
  for i, member in ipairs(members) do
    seqs[i] = state == 'w' and seqOfWaiting(member) or tonumber(member)
  end
  return seqs
end

local function finish(B, queue, seq, job, state)
  redis.call('HSET', job, 's', state, 'f', now)
  redis.call('ZADD', B .. setOf[state], now, pad(seq))
end

-- The attempt of an active job (already out of the active set) failed: retry at `retryAt`, or dead.
local function fail(B, queue, seq, job, err, dead, retryAt)
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

-- Completed jobs beyond the newest `count` go.
local function pruneCount(B, queue, count)
  local excess = redis.call('ZCARD', B .. ':c') - count
  if excess > 0 then
    dropAll(B, queue, 'c', seqsOf(redis.call('ZRANGE', B .. ':c', 0, excess - 1), 'c'), false)
  end
end

-- The earliest time anything in the queue falls due, written back as `due`.
local function recompute(B, keepAgeMs)
  local at = math.huge
  for _, suffix in ipairs({ ':t', ':d', ':a' }) do
    local first = redis.call('ZRANGE', B .. suffix, 0, 0, 'WITHSCORES')[2]
    if first then
      at = math.min(at, tonumber(first))
    end
  end
  if keepAgeMs ~= math.huge then
    local first = redis.call('ZRANGE', B .. ':c', 0, 0, 'WITHSCORES')[2]
    if first then
      at = math.min(at, tonumber(first) + keepAgeMs)
    end
  end
  dueOf[B] = at
  if at == math.huge then
    redis.call('HDEL', B .. ':m', 'due')
  else
    redis.call('HSET', B .. ':m', 'due', at)
  end
end

-- Applies what `now` makes due in the queue: TTLs, delays, expired leases, completed retention.
-- One HMGET when nothing is due, which is most calls.
local function settle(B, queue)
  local meta = redis.call('HMGET', B .. ':m', 'due', 'kc', 'ka', 'paused')
  metaOf[B] = meta
  dueOf[B] = tonumber(meta[1]) or math.huge
  if dueOf[B] > now then
    return
  end
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
  local keepAgeMs = meta[3] and num(meta[3]) or math.huge
  if keepAgeMs ~= math.huge then
    dropAll(B, queue, 'c', seqsOf(redis.call('ZRANGEBYSCORE', B .. ':c', '-inf', now - keepAgeMs), 'c'), false)
  end
  recompute(B, keepAgeMs)
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

local recordFields = { 's', 'p', 'a', 'm', 'n', 'c', 't', 'e', 'l', 'v', 'b', 'k', 'h', 'f' }

-- Per job, { seq, payload, result, <recordFields values> }: what records.ts decodes.
-- `valuesOf[i]` are the job's recordFields when the caller has them already.
local function records(B, seqs, valuesOf)
  local out = {}
  if #seqs == 0 then
    return out
  end
  local payloads = redis.call('HMGET', B .. ':p', unpack(seqs))
  local anyCompleted = false
  for i, seq in ipairs(seqs) do
    local values = valuesOf and valuesOf[i] or redis.call('HMGET', B .. ':' .. seq, unpack(recordFields))
    anyCompleted = anyCompleted or values[1] == 'c'
    out[i] = { seq, payloads[i], false, unpack(values) }
  end
  if anyCompleted then
    local results = redis.call('HMGET', B .. ':r', unpack(seqs))
    for i, record in ipairs(out) do
      if record[4] == 'c' then
        record[3] = results[i]
      end
    end
  end
  return out
end

-- Finishes the leased jobs named in ARGV[from..], 3 values each (seq, attempt, result: '' for
-- none, else '+' .. bytes), under the retention keepCount / keepAge (ARGV strings: 'inf' or ms).
-- The caller has settled the queue. Returns { 1 (ok) or 0 (lost), ... } per token.
local function ackAll(B, queue, keepCount, keepAge, from)
  local count, age = num(keepCount), num(keepAge)
  local keeps = count > 0 and age > 0
  -- The queue's retention is the last one an ack named, as in the memory store.
  local meta = metaOf[B]
  local changed = meta[2] ~= keepCount or meta[3] ~= keepAge
  if changed then
    redis.call('HSET', B .. ':m', 'kc', keepCount, 'ka', keepAge)
    recompute(B, age)
  end
  local out, members, completed = {}, {}, {}
  for i = from, #ARGV, 3 do
    local seq = tonumber(ARGV[i])
    local job = leased(B, seq, tonumber(ARGV[i + 1]))
    if job and keeps then
      members[#members + 1] = pad(seq)
      completed[#completed + 1] = now
      completed[#completed + 1] = pad(seq)
      if ARGV[i + 2] ~= '' then
        redis.call('HSET', B .. ':r', seq, string.sub(ARGV[i + 2], 2))
      end
      redis.call('HSET', job, 's', 'c', 'f', now)
      events[#events + 1] = 'completed\t' .. queue .. '\t' .. queue .. ':' .. seq
    elseif job then
      drop(B, queue, seq, 'a', 'completed')
    end
    out[#out + 1] = job and 1 or 0
  end
  if #members > 0 then
    each('ZREM', B .. ':a', members)
    each('ZADD', B .. ':c', completed)
    if age ~= math.huge then
      schedule(B, now + age)
    end
  end
  if keeps then
    pruneCount(B, queue, count)
  elseif changed then
    pruneCount(B, queue, 0)
  end
  return out
end

-- Leases up to `max` waiting jobs of a settled queue, in lease order, each for `visibilityMs`
-- (< 0: the job's own). Returns their records.
local function leaseUpTo(B, max, visibilityMs)
  if metaOf[B][4] then
    return {}
  end
  local popped = redis.call('ZPOPMIN', B .. ':w', max)
  local seqs, valuesOf, active = {}, {}, {}
  local first = math.huge
  for i = 1, #popped, 2 do
    local seq = seqOfWaiting(popped[i])
    local job = B .. ':' .. seq
    local values = redis.call('HMGET', job, unpack(recordFields))
    local attempts = (tonumber(values[3]) or 0) + 1
    local leaseUntil = now + (visibilityMs < 0 and tonumber(values[10]) or visibilityMs)
    redis.call('HSET', job, 's', 'a', 'a', attempts, 'l', leaseUntil)
    active[#active + 1] = leaseUntil
    active[#active + 1] = pad(seq)
    first = math.min(first, leaseUntil)
    values[1], values[3], values[9] = 'a', attempts, leaseUntil
    seqs[#seqs + 1] = seq
    valuesOf[#valuesOf + 1] = values
  end
  if #seqs > 0 then
    each('ZADD', B .. ':a', active)
    schedule(B, first)
  end
  return records(B, seqs, valuesOf)
end
