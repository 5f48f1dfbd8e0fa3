-- add: a batch of new jobs over one or more queues, all of it or nothing.
-- KEYS[i]   the base '{<prefix>:<queue>}' of each queue of the batch (one slot each; Cluster
--           callers send one queue per call)
-- KEYS[n+1] the call's key, '<first base>:call:<call id>': a call already run (sent again after its
--           connection failed, its reply lost) answers what it answered then and adds nothing
-- ARGV[1]   now          ARGV[2] events channel    ARGV[3] origin, put on the ready events ('' none)
-- ARGV[4..] per queue i: its name; then per job, 2 values: its settings, and
--           its payload. The settings are one string, 'queue index (1-based)|priority|maxAttempts
--           ('inf')|availableAt|expiresAt ('' none)|visibilityMs|backoff|key ('' none)', or '' for
--           the same as the job before: a bulk add of like jobs sends each job's settings once.
--           Last, after the jobs: how long to keep the call's key, in ms.
-- Returns   { 1, seq, created (1/0), seq, created, ... } or { 0, full queue index, its maxLength }

local queues = #KEYS - 1
local call = KEYS[queues + 1]
local answered = redis.call('GET', call)
if answered then
  -- 1, then seq (text) and created (number) per job, as `out` below.
  local out = {}
  for value in string.gmatch(answered, '[^,]+') do
    out[#out + 1] = #out % 2 == 1 and value or tonumber(value)
  end
  return out
end
local first = 4 + queues
local settingsPattern = '^(%d+)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|(.*)$'
-- The jobs' settings: one table per run of like jobs (a settings string and those sent '' after
-- it), and per job the index of its run. A bulk add of like jobs parses, and below formats its
-- record and waiting prefix, once instead of once a job (issue 16).
local runs, runOf = {}, {}
local fresh = {}
local keyed = {}
for i = 1, queues do
  settle(KEYS[i], ARGV[3 + i])
  fresh[i] = 0
end
local count = 0
for j = first, #ARGV - 1, 2 do
  local settings = ARGV[j]
  count = count + 1
  if settings ~= '' then
    local qi, priority, maxAttempts, availableAt, expiresAt, visibilityMs, backoff, key =
      string.match(settings, settingsPattern)
    runs[#runs + 1] = {
      qi = tonumber(qi), priority = priority, maxAttempts = maxAttempts, availableAt = availableAt,
      expiresAt = expiresAt, visibilityMs = visibilityMs, backoff = backoff, key = key,
    }
  end
  local run = runs[#runs]
  runOf[count] = run
  local qi, key = run.qi, run.key
  local batchKey = qi .. '\0' .. key
  if key == '' or not (keyed[batchKey] or redis.call('HEXISTS', KEYS[qi] .. ':k', key) == 1) then
    fresh[qi] = fresh[qi] + 1
  end
  if key ~= '' then
    keyed[batchKey] = true
  end
end
for i = 1, queues do
  -- The queue's stored maxLength (configure.lua), if it has one: absent, or '' once set to none.
  local limit = tonumber(redis.call('HGET', KEYS[i] .. ':m', 'ml') or '') or -1
  if limit >= 0 and redis.call('ZCARD', KEYS[i] .. ':w') + redis.call('ZCARD', KEYS[i] .. ':d') + fresh[i] > limit then
    return { 0, i, limit }
  end
end

-- Numbers for the new jobs are taken in one step per queue, and the records, payloads and
-- waiting entries written with one command each per queue.
local nextSeq, jobs, payloads, waiting = {}, {}, {}, {}
for i = 1, queues do
  nextSeq[i] = fresh[i] > 0 and redis.call('HINCRBY', KEYS[i] .. ':m', 'seq', fresh[i]) - fresh[i] or 0
  jobs[i], payloads[i], waiting[i] = {}, {}, {}
end
-- What a run's jobs share, made for its first job that is created: the job record (which holds
-- no seq), whether it waits or is delayed, and its waiting entry's score and member prefix.
local function shared(run)
  local availableAt, priority = run.availableAt, run.priority
  run.delayed = tonumber(availableAt) > now
  -- s a l f v t n p m c e b k, as lib.lua lays them out.
  run.record = (run.delayed and 'd' or 'w') .. '||||' .. run.visibilityMs .. '|' .. availableAt .. '||'
    .. (priority == '0' and '' or priority) .. '|' .. run.maxAttempts .. '|' .. nowText .. '|' .. run.expiresAt
    .. '|' .. run.backoff .. '|' .. run.key
  run.score = negated(priority)
  run.readyAt = readyPrefix(availableAt)
end
local out = { 1 }
for n = 1, count do
  local run = runOf[n]
  local qi = run.qi
  local B = KEYS[qi]
  local key = run.key
  local existing = key ~= '' and redis.call('HGET', B .. ':k', key)
  if existing then
    out[#out + 1] = existing
    out[#out + 1] = 0
  else
    if not run.record then
      shared(run)
    end
    nextSeq[qi] = nextSeq[qi] + 1
    local seq = tostring(nextSeq[qi])
    local padded = pad(seq)
    local availableAt, expiresAt = run.availableAt, run.expiresAt
    if run.delayed then
      redis.call('ZADD', B .. ':d', availableAt, padded)
      schedule(B, tonumber(availableAt))
      announce(B, ARGV[3 + qi], tonumber(availableAt))
    else
      local w = waiting[qi]
      w[#w + 1] = run.score
      -- waitMember(availableAt, seq), its prefix made once a run.
      w[#w + 1] = run.readyAt .. padded
    end
    if expiresAt ~= '' then
      redis.call('ZADD', B .. ':t', expiresAt, padded)
      schedule(B, tonumber(expiresAt))
    end
    if key ~= '' then
      redis.call('HSET', B .. ':k', key, seq)
    end
    local q, p = jobs[qi], payloads[qi]
    q[#q + 1] = seq
    q[#q + 1] = run.record
    p[#p + 1] = seq
    p[#p + 1] = ARGV[first + 2 * n - 1]
    out[#out + 1] = seq
    out[#out + 1] = 1
  end
end
for i = 1, queues do
  each('HSET', KEYS[i] .. ':j', jobs[i])
  each('HSET', KEYS[i] .. ':p', payloads[i])
  each('ZADD', KEYS[i] .. ':w', waiting[i])
end
-- A lease for each job that became ready; delayed ones wake the leases when they fall due (announce).
for i = 1, queues do
  local ready = #waiting[i] / 2
  if ready > 0 then
    markReady(KEYS[i], ARGV[3 + i], ready, ARGV[3])
  end
end
publish()
redis.call('SET', call, table.concat(out, ','), 'PX', ARGV[#ARGV])
return out
