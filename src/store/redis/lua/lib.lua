-- Shared by every script: scripts.ts puts this file in front of each one. It knows one queue's
-- key layout and applies what `now` makes due (settle), so no reaper has to stay alive.
--
-- All keys of a queue share the hash tag of B = '{<prefix>:<queue>}' (one Cluster slot):
--   B..':m'   hash   seq (last job number), expired (count), the stored settings (configure.lua:
--                    paused, kc / ka completed retention, kd / kda dead retention (absent: every
--                    dead job kept), ml maxLength, ma maxAttempts, bo backoff,
--                    vis visibilityMs, ttl ttlMs; absent: contract.ts' defaultQueueSettings),
--                    due (no delay, lease, TTL or retention ends before it: settle's shortcut),
--                    wb (every lease blocked on the queue wakes by then, as the store told them;
--                    'inf' for never: a job due sooner is announced, see announce)
--   B..':w'   zset   waiting: score -priority, member readyAt (13 digits) .. pad(seq)
--   B..':d'   zset   delayed: score availableAt, member pad(seq)
--   B..':a'   zset   active: score leaseUntil, member pad(seq)
--   B..':x'   zset   dead: score finishedAt, member pad(seq)
--   B..':c'   zset   completed: score finishedAt, member pad(seq)
--   B..':t'   zset   TTL: score expiresAt, member pad(seq)
--   B..':k'   hash   idempotency key -> seq
--   B..':j'   hash   seq -> the job, one string of 13 fields joined by '|':
--                    s state (w d a x c), a attempts, l leaseUntil, f finishedAt, v visibilityMs,
--                    t availableAt (= readyAt), n nacks, p priority, m maxAttempts ('inf'),
--                    c createdAt, e expiresAt, b backoff 'kind,delayMs,maxDelayMs,jitter', k key.
--                    Empty means null or 0. The key, which may hold '|', comes last. l is
--                    meaningful only while active (it is left behind: one write fewer per ack).
--   B..':p'   hash   seq -> payload
--   B..':r'   hash   seq -> result, while completed
--   B..':h'   hash   seq -> error history (JSON array), once an attempt failed
--   B..':s'   zset   sleepers: blocked leases' ids by when each asks again (lease.lua, readyLine)
-- A job is a field of the queue's hashes, not a key of its own: a lease or an ack of many jobs
-- reads and writes them with one command per hash instead of one per job, and each redis.call
-- costs a Lua script about 2 µs. seqs are decimal strings here, never Lua numbers: Lua turns a
-- number into text with sprintf, which cost more than the rest of a job's work.
-- Every script has ARGV[1] = now (ms), ARGV[2] = the events channel. Events are collected and
-- published as one message at the end: lines '<outcome>\t<queue>\t<id>',
-- 'ready\t<queue>[\t<leases to wake>\t<origin>[\t=<sleeper>,<sleeper>...]]' (see readyLine), and
-- 'due\t<queue>\t<at>' (see announce).

local now, nowText = tonumber(ARGV[1]), ARGV[1]
local channel = ARGV[2]
local events = {}
local errorHistory = 10
-- contract.ts' defaultQueueSettings.keepCompleted, for a queue with no stored retention.
local defaultKeepCount, defaultKeepAgeMs = 1000, 86400000
local setOf = { w = ':w', d = ':d', a = ':a', x = ':x', c = ':c' }
-- Per queue, for this call: the meta fields settle read, `due` and `wb` as they stand now.
local metaOf = {}
local dueOf = {}
local wakeByOf = {}

-- lease.lua applies the acks it carries at their own time.
local function setNow(text)
  now, nowText = tonumber(text), text
end

-- Numbers as text, each converted once per call: a batch's jobs share their lease end. In 17
-- digits, which read back as the same number: tostring's 14 rounded a time in fractions of a
-- millisecond (a clock may give them), and a queue's due time rounded up past its job's own.
local texts = {}
local function text(n)
  local t = texts[n]
  if not t then
    t = string.format('%.17g', n)
    texts[n] = t
  end
  return t
end

local function pad(seq)
  return string.rep('0', 16 - #seq) .. seq
end

local function unpad(member, from)
  return string.match(member, '^0*(%d+)$', from)
end

-- A waiting member: the ready time's whole milliseconds in 13 digits, then the seq, which
-- seqOfWaiting reads by its place. A time in fractions (a clock may give them) is cut to its
-- whole part: written whole, it moved the seq, and the lease dropped the member as unreadable.
local function readyPrefix(readyAt)
  local whole = string.match(readyAt, '^%d+')
  return string.rep('0', 13 - #whole) .. whole
end

local function waitMember(readyAt, seq)
  return readyPrefix(readyAt) .. pad(seq)
end

local function seqOfWaiting(member)
  return unpad(member, 14)
end

local function negated(priority)
  if priority == '' or priority == '0' then
    return '0'
  elseif string.sub(priority, 1, 1) == '-' then
    return string.sub(priority, 2)
  end
  return '-' .. priority
end

local function num(value)
  if value == 'inf' then
    return math.huge
  end
  return tonumber(value)
end

local recordPattern = '^(%a)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|(.*)$'

-- A job's record as a table of its fields (all text), or nil.
local function parse(record)
  if not record then
    return nil
  end
  local s, a, l, f, v, t, n, p, m, c, e, b, k = string.match(record, recordPattern)
  return { s = s, a = a, l = l, f = f, v = v, t = t, n = n, p = p, m = m, c = c, e = e, b = b, k = k }
end

local function format(j)
  return j.s .. '|' .. j.a .. '|' .. j.l .. '|' .. j.f .. '|' .. j.v .. '|' .. j.t .. '|' .. j.n .. '|' .. j.p
    .. '|' .. j.m .. '|' .. j.c .. '|' .. j.e .. '|' .. j.b .. '|' .. j.k
end

local function load(B, seq)
  return parse(redis.call('HGET', B .. ':j', seq))
end

local function save(B, seq, j)
  redis.call('HSET', B .. ':j', seq, format(j))
end

-- `command key item item ...` over `items`, a few hundred at a time (Lua's stack is bounded).
local function each(command, key, items)
  for from = 1, #items, 500 do
    redis.call(command, key, unpack(items, from, math.min(from + 499, #items)))
  end
end

-- HMGET over any number of fields; a missing one is false.
local function hmget(key, fields)
  if #fields <= 500 then
    return redis.call('HMGET', key, unpack(fields))
  end
  local out = {}
  for from = 1, #fields, 500 do
    local part = redis.call('HMGET', key, unpack(fields, from, math.min(from + 499, #fields)))
    for i = 1, #part do
      out[from + i - 1] = part[i]
    end
  end
  return out
end

-- Queues with jobs made ready by this call, in order: B -> { queue, count, origin }; a nil count
-- wakes every lease of the queue (a resume).
local readyOrder, readyOf = {}, {}

local function markReady(B, queue, count, origin)
  local r = readyOf[B]
  if not r then
    r = { queue = queue, count = 0, origin = origin or '' }
    readyOf[B] = r
    readyOrder[#readyOrder + 1] = B
  end
  if count == nil or r.count == nil then
    r.count = nil
  else
    r.count = r.count + count
  end
end

-- The ready event of one queue. Sleepers (B..':s', noted by lease.lua, scored by when they stop
-- sleeping) are named, the latest to stop first, one a ready job, and only they wake: one add
-- wakes one lease, not one in every process. The origin's own sleepers count first without
-- being named: it woke them itself when it sent the add, and each leaves the set when its lease
-- takes a job. With no sleeper noted every watcher wakes as many of its leases as jobs became
-- ready. Sleepers past their time are dropped as they are met; the whole set is swept when
-- the first `count + 64` are all still asleep, so the set stays small without a sweep per add.
local function readyLine(B, r)
  local line = 'ready\t' .. r.queue
  if r.count == nil then
    return line
  end
  local origin = r.origin
  line = line .. '\t' .. text(r.count) .. '\t' .. origin
  local key = B .. ':s'
  local window = r.count + 64
  local found = redis.call('ZREVRANGE', key, 0, window - 1, 'WITHSCORES')
  if #found == 0 then
    return line
  end
  local left, named, gone = r.count, {}, {}
  local awake = {}
  for i = 1, #found, 2 do
    if tonumber(found[i + 1]) < now then
      gone[#gone + 1] = found[i]
    elseif origin ~= '' and string.sub(found[i], 1, #origin) == origin then
      left = math.max(0, left - 1)
    else
      awake[#awake + 1] = found[i]
    end
  end
  for i = 1, math.min(left, #awake) do
    named[i] = awake[i]
    gone[#gone + 1] = awake[i]
  end
  if #found == 2 * window and #gone == 0 then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. nowText)
  end
  each('ZREM', key, gone)
  if #named == 0 and left == r.count then
    return line
  end
  return line .. '\t=' .. table.concat(named, ',')
end

local function publish()
  for _, B in ipairs(readyOrder) do
    events[#events + 1] = readyLine(B, readyOf[B])
  end
  if #events > 0 then
    redis.call('PUBLISH', channel, table.concat(events, '\n'))
  end
end

-- A job of the queue becomes leasable by itself at `at` (a delay ends, a lease expires). Only a
-- time sooner than every blocked lease was told to wake is published ('due' line), so that every
-- process wakes its leases then: a stream of later delays and leases publishes nothing.
local function announce(B, queue, at)
  if at >= wakeByOf[B] then
    return
  end
  wakeByOf[B] = at
  redis.call('HSET', B .. ':m', 'wb', text(at))
  events[#events + 1] = 'due\t' .. queue .. '\t' .. text(at)
end

-- A lease found nothing in the queue and sleeps until `nextAt` (math.huge: never) at most. Once
-- `wb` is past, the leases it covered have woken and ask again, each telling its own time.
local function told(B, nextAt)
  local wb = wakeByOf[B]
  local at = wb <= now and nextAt or math.max(wb, nextAt)
  if at ~= wb then
    wakeByOf[B] = at
    redis.call('HSET', B .. ':m', 'wb', at == math.huge and 'inf' or text(at))
  end
end

-- Something in the queue falls due at `at`: `due` stays at or before every such time.
local function schedule(B, at)
  if at < dueOf[B] then
    dueOf[B] = at
    redis.call('HSET', B .. ':m', 'due', text(at))
  end
end

-- The job `j` joins the waiting line at its availableAt; the caller saves it.
local function toWaiting(B, queue, seq, j)
  j.s = 'w'
  redis.call('ZADD', B .. ':w', negated(j.p), waitMember(j.t, seq))
  markReady(B, queue, 1)
end

-- Back in line at `availableAt`: waiting when that is not in the future, else delayed. The caller saves `j`.
local function requeue(B, queue, seq, j, availableAt)
  j.t = text(availableAt)
  if availableAt > now then
    j.s = 'd'
    redis.call('ZADD', B .. ':d', j.t, pad(seq))
    schedule(B, availableAt)
    announce(B, queue, availableAt)
  else
    toWaiting(B, queue, seq, j)
  end
end

-- Takes jobs, all in `state`, out of the store; tells watchers unless `outcome` is false
-- (retention pruning). Bulk, because acking, pruning and purging take many at a time. The
-- records are read only when something else points at a job: a waiting member holds its
-- readyAt, an idempotency key or a TTL its own entry.
local function dropAll(B, queue, state, seqs, outcome)
  if #seqs == 0 then
    return
  end
  local keyed = redis.call('EXISTS', B .. ':k') == 1
  local timed = redis.call('EXISTS', B .. ':t') == 1
  local records = (state == 'w' or keyed or timed) and hmget(B .. ':j', seqs) or {}
  local members, ttls = {}, {}
  for i, seq in ipairs(seqs) do
    local j = parse(records[i])
    members[i] = (state == 'w' and j) and waitMember(j.t, seq) or pad(seq)
    if j and keyed and j.k ~= '' and redis.call('HGET', B .. ':k', j.k) == seq then
      redis.call('HDEL', B .. ':k', j.k)
    end
    if j and j.e ~= '' then
      ttls[#ttls + 1] = pad(seq)
    end
    if outcome then
      events[#events + 1] = outcome .. '\t' .. queue .. '\t' .. queue .. ':' .. seq
    end
  end
  each('ZREM', B .. setOf[state], members)
  each('ZREM', B .. ':t', ttls)
  each('HDEL', B .. ':j', seqs)
  each('HDEL', B .. ':p', seqs)
  if redis.call('EXISTS', B .. ':h') == 1 then
    each('HDEL', B .. ':h', seqs)
  end
  if state == 'c' then
    each('HDEL', B .. ':r', seqs)
  end
end

local function seqsOf(members, state)
  local seqs = {}
  for i, member in ipairs(members) do
    seqs[i] = state == 'w' and seqOfWaiting(member) or unpad(member, 1)
  end
  return seqs
end

-- `j` ends in `state` (dead or completed) now; the caller saves it.
local function finish(B, seq, j, state)
  j.s, j.f = state, nowText
  redis.call('ZADD', B .. setOf[state], nowText, pad(seq))
end

-- The queue's dead retention (kd / kda, read by settle): count, age.
local function keepDead(B)
  local meta = metaOf[B]
  return meta[6] and num(meta[6]) or math.huge, meta[7] and num(meta[7]) or math.huge
end

-- The attempt of an active job (already out of the active set) failed: retry at `retryAt`, or
-- dead. The caller saves `j`.
local function fail(B, queue, seq, j, err, dead, retryAt)
  if err then
    local raw = redis.call('HGET', B .. ':h', seq)
    local history = raw and cjson.decode(raw) or {}
    history[#history + 1] = err
    while #history > errorHistory do
      table.remove(history, 1)
    end
    redis.call('HSET', B .. ':h', seq, cjson.encode(history))
  end
  if dead or (tonumber(j.a) or 0) >= num(j.m) then
    finish(B, seq, j, 'x')
    events[#events + 1] = 'dead\t' .. queue .. '\t' .. queue .. ':' .. seq
    local _, deadAgeMs = keepDead(B)
    if deadAgeMs ~= math.huge then
      schedule(B, now + deadAgeMs)
    end
    return 'dead'
  end
  requeue(B, queue, seq, j, retryAt)
  return 'retry'
end

-- Completed (state 'c') or dead ('x') jobs beyond the newest `count` go.
local function pruneCount(B, queue, state, count)
  local key = B .. setOf[state]
  local excess = redis.call('ZCARD', key) - count
  if excess > 0 then
    dropAll(B, queue, state, seqsOf(redis.call('ZRANGE', key, 0, excess - 1), state), false)
  end
end

-- Dead jobs past the queue's dead retention go, silently. Nothing is read without one (the default).
local function pruneDead(B, queue)
  local count, age = keepDead(B)
  if age ~= math.huge then
    dropAll(B, queue, 'x', seqsOf(redis.call('ZRANGEBYSCORE', B .. ':x', '-inf', now - age), 'x'), false)
  end
  if count ~= math.huge then
    pruneCount(B, queue, 'x', count)
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
  local _, deadAgeMs = keepDead(B)
  for suffix, age in pairs({ [':c'] = keepAgeMs, [':x'] = deadAgeMs }) do
    if age ~= math.huge then
      local first = redis.call('ZRANGE', B .. suffix, 0, 0, 'WITHSCORES')[2]
      if first then
        at = math.min(at, tonumber(first) + age)
      end
    end
  end
  dueOf[B] = at
  if at == math.huge then
    redis.call('HDEL', B .. ':m', 'due')
  else
    redis.call('HSET', B .. ':m', 'due', text(at))
  end
end

-- Applies what `now` makes due in the queue: TTLs, delays, expired leases, completed retention.
-- One HMGET when nothing is due, which is most calls.
local function settle(B, queue)
  local meta = redis.call('HMGET', B .. ':m', 'due', 'kc', 'ka', 'paused', 'wb', 'kd', 'kda')
  metaOf[B] = meta
  dueOf[B] = tonumber(meta[1]) or math.huge
  wakeByOf[B] = meta[5] and num(meta[5]) or -math.huge
  if dueOf[B] > now then
    return
  end
  local gone = redis.call('ZRANGEBYSCORE', B .. ':t', '-inf', nowText)
  for _, member in ipairs(gone) do
    local seq = unpad(member, 1)
    local j = load(B, seq)
    if j then
      dropAll(B, queue, j.s, { seq }, 'expired')
    end
  end
  if #gone > 0 then
    redis.call('HINCRBY', B .. ':m', 'expired', #gone)
  end
  local due = redis.call('ZRANGEBYSCORE', B .. ':d', '-inf', nowText)
  if #due > 0 then
    redis.call('ZREMRANGEBYSCORE', B .. ':d', '-inf', nowText)
    for _, member in ipairs(due) do
      local seq = unpad(member, 1)
      local j = load(B, seq)
      toWaiting(B, queue, seq, j)
      save(B, seq, j)
    end
  end
  local expired = redis.call('ZRANGEBYSCORE', B .. ':a', '-inf', nowText, 'WITHSCORES')
  for i = 1, #expired, 2 do
    local seq = unpad(expired[i], 1)
    local j = load(B, seq)
    redis.call('ZREM', B .. ':a', expired[i])
    -- Reclaim (contract.ts): back in line as of the lease's end, no back-off; the attempt counts.
    fail(B, queue, seq, j, 'lease expired', false, tonumber(expired[i + 1]))
    save(B, seq, j)
  end
  pruneDead(B, queue)
  local keepAgeMs = meta[3] and num(meta[3]) or defaultKeepAgeMs
  if keepAgeMs ~= math.huge then
    dropAll(B, queue, 'c', seqsOf(redis.call('ZRANGEBYSCORE', B .. ':c', '-inf', now - keepAgeMs), 'c'), false)
  end
  recompute(B, keepAgeMs)
end

-- The job behind a token whose lease is current (parsed), or nil.
local function leased(B, seq, attempt)
  local j = load(B, seq)
  if j and j.s == 'a' and tonumber(j.a) == tonumber(attempt) and tonumber(j.l) > now then
    return j
  end
  return nil
end

-- Per job, { seq, payload, result, record, errors } (false where absent): what records.ts
-- decodes. `given` are the jobs' records when the caller has them already.
local function records(B, seqs, given)
  local out = {}
  if #seqs == 0 then
    return out
  end
  local all = given or hmget(B .. ':j', seqs)
  local payloads = hmget(B .. ':p', seqs)
  local anyCompleted = false
  for i, seq in ipairs(seqs) do
    local record = all[i]
    anyCompleted = anyCompleted or (record and string.byte(record, 1) == 99)
    out[i] = { seq, payloads[i], false, record, false }
  end
  if anyCompleted then
    local results = hmget(B .. ':r', seqs)
    for i, record in ipairs(out) do
      if record[4] and string.byte(record[4], 1) == 99 then
        record[3] = results[i]
      end
    end
  end
  if redis.call('EXISTS', B .. ':h') == 1 then
    local histories = hmget(B .. ':h', seqs)
    for i, record in ipairs(out) do
      record[5] = histories[i]
    end
  end
  return out
end

-- Finishes the leased jobs named in ARGV[from..], 3 values each (seq, attempt, result: '' for
-- none, else '+' .. bytes), under the queue's stored retention (kc / ka, configure.lua).
-- The caller has settled the queue. Returns { 1 (ok) or 0 (lost), ... } per token.
local function ackAll(B, queue, from)
  local meta = metaOf[B]
  local count = meta[2] and num(meta[2]) or defaultKeepCount
  local age = meta[3] and num(meta[3]) or defaultKeepAgeMs
  local keeps = count > 0 and age > 0
  local seqs = {}
  for i = from, #ARGV, 3 do
    seqs[#seqs + 1] = ARGV[i]
  end
  local all = #seqs > 0 and hmget(B .. ':j', seqs) or {}
  local out, members, completed, writes, results, gone, acked = {}, {}, {}, {}, {}, {}, {}
  for i, seq in ipairs(seqs) do
    local arg = from + 3 * (i - 1)
    local s, a, l, rest
    if all[i] then
      s, a, l, rest = string.match(all[i], '^(%a)|([^|]*)|([^|]*)|[^|]*|(.*)$')
    end
    -- The states were all read first: a token twice in one batch is acked once, then lost.
    local ok = not acked[seq] and s == 'a' and tonumber(a) == tonumber(ARGV[arg + 1]) and tonumber(l) > now
    if ok then
      acked[seq] = true
    end
    if ok and keeps then
      local member = pad(seq)
      members[#members + 1] = member
      completed[#completed + 1] = nowText
      completed[#completed + 1] = member
      writes[#writes + 1] = seq
      writes[#writes + 1] = 'c|' .. a .. '|' .. l .. '|' .. nowText .. '|' .. rest
      if ARGV[arg + 2] ~= '' then
        results[#results + 1] = seq
        results[#results + 1] = string.sub(ARGV[arg + 2], 2)
      end
      events[#events + 1] = 'completed\t' .. queue .. '\t' .. queue .. ':' .. seq
    elseif ok then
      gone[#gone + 1] = seq
      -- Not kept: the result rides on the event ('+' .. bytes, the last field), for a waitFor
      -- already waiting on the job; results are JSON, which holds no raw tab or newline.
      events[#events + 1] = 'completed\t' .. queue .. '\t' .. queue .. ':' .. seq .. '\t' .. ARGV[arg + 2]
    end
    out[i] = ok and 1 or 0
  end
  dropAll(B, queue, 'a', gone, false)
  if #members > 0 then
    each('ZREM', B .. ':a', members)
    each('ZADD', B .. ':c', completed)
    each('HSET', B .. ':j', writes)
    each('HSET', B .. ':r', results)
    if age ~= math.huge then
      schedule(B, now + age)
    end
  end
  if keeps then
    pruneCount(B, queue, 'c', count)
  end
  return out
end

-- Leases up to `max` waiting jobs of a settled queue, in lease order, each for `visibilityMs`
-- (< 0: the job's own). Returns their records.
local function leaseUpTo(B, queue, max, visibilityMs)
  if metaOf[B][4] then
    return {}
  end
  local popped = redis.call('ZPOPMIN', B .. ':w', max)
  local waiting = {}
  for i = 1, #popped, 2 do
    waiting[#waiting + 1] = seqOfWaiting(popped[i])
  end
  if #waiting == 0 then
    return {}
  end
  local found = hmget(B .. ':j', waiting)
  local seqs, all, writes, active = {}, {}, {}, {}
  local first = math.huge
  for i, seq in ipairs(waiting) do
    -- The attempts, and the rest from visibilityMs on; l and f are rewritten. A waiting entry
    -- without a record (none should be) is dropped rather than stop the lease half done.
    local a, rest, v = string.match(found[i] or '', '^%a|([^|]*)|[^|]*|[^|]*|(([^|]*)|.*)$')
    if rest then
      local leaseUntil = now + (visibilityMs < 0 and tonumber(v) or visibilityMs)
      local untilText = text(leaseUntil)
      first = math.min(first, leaseUntil)
      local record = 'a|' .. text((tonumber(a) or 0) + 1) .. '|' .. untilText .. '||' .. rest
      seqs[#seqs + 1] = seq
      all[#all + 1] = record
      writes[#writes + 1] = seq
      writes[#writes + 1] = record
      active[#active + 1] = untilText
      active[#active + 1] = pad(seq)
    end
  end
  each('HSET', B .. ':j', writes)
  each('ZADD', B .. ':a', active)
  schedule(B, first)
  announce(B, queue, first)
  return records(B, seqs, all)
end
