-- Adds a batch of jobs as one multi-row INSERT from arrays (one element per job, in order).
-- $1 queue text[], $2 payloads bytea (every payload, end to end), $3 payload_start integer[]
-- (1-based, in $2), $4 payload_length integer[], $5 priority integer[], $6 max_attempts float8[],
-- $7 available_at float8[], $8 expires_at float8[], $9 visibility_ms float8[],
-- $10 backoff_kind text[], $11 backoff_delay_ms float8[], $12 backoff_max_ms float8[],
-- $13 backoff_jitter float8[], $14 key text[], $15 now float8, $16 channel text, $17 origin text.
-- One row: `fresh_id`, the new ids given, comma-separated in batch order (one string: pg parses
-- a bigint[] at ~0.6 us an element, a tenth of a bulk add's Node time), to the jobs `fresh_n`
-- (1-based; null when that is every job of the batch), of which `inserted` went in (null when all
-- did; the others met a job with their key inserted meanwhile); `existing_n` and
-- `existing_id`, the jobs whose key a stored job held already, and its id; `full_queue` and
-- `max_length` when a queue's max length refused the batch (nothing then added); `events`, the
-- ready and due events sent (see ack.sql). Arrays are null when empty.
WITH input AS (
  SELECT i.queue, substring($2::bytea FROM i.payload_start FOR i.payload_length) AS payload, i.priority,
    i.max_attempts, i.available_at, i.expires_at, i.visibility_ms, i.backoff_kind, i.backoff_delay_ms,
    i.backoff_max_ms, i.backoff_jitter, i.key, i.n
  FROM unnest($1::text[], $3::integer[], $4::integer[], $5::integer[], $6::float8[], $7::float8[], $8::float8[],
    $9::float8[], $10::text[], $11::float8[], $12::float8[], $13::float8[], $14::text[])
    WITH ORDINALITY AS i (queue, payload_start, payload_length, priority, max_attempts, available_at, expires_at,
      visibility_ms, backoff_kind, backoff_delay_ms, backoff_max_ms, backoff_jitter, key, n)
), existing AS (
  SELECT i.n, j.id FROM input i JOIN spool.jobs j ON j.queue = i.queue AND j.key = i.key
), fresh AS (
  -- The first job of each key, by a window and an index probe: subqueries over the batch per job
  -- made a batch of keyed jobs cost its size squared.
  SELECT x.* FROM (
    SELECT i.*, CASE WHEN i.key IS NULL THEN 1 ELSE row_number() OVER (PARTITION BY i.queue, i.key ORDER BY i.n) END AS nth
    FROM input i
  ) x
  WHERE x.nth = 1
    AND (x.key IS NULL OR NOT EXISTS (SELECT 1 FROM spool.jobs j WHERE j.queue = x.queue AND j.key = x.key))
), refused AS (
  SELECT q.name, q.max_length FROM spool.queues q
  JOIN (SELECT queue, count(*) AS c FROM fresh GROUP BY queue) f ON f.queue = q.name
  WHERE q.max_length IS NOT NULL
    -- The queue's counters (003-counts.sql), not its rows: the check costs the same at any depth.
    AND (SELECT coalesce(sum(c.queued), 0) FROM spool.counts c WHERE c.queue = q.name) + f.c > q.max_length
  LIMIT 1
), ids AS (
  SELECT nextval('spool.job_ids') AS id, f.* FROM fresh f
  WHERE NOT EXISTS (SELECT 1 FROM refused)
  ORDER BY f.n
), ins AS (
  INSERT INTO spool.jobs (id, queue, state, priority, attempts, max_attempts, nacks, created_at, available_at,
    expires_at, until, finish, visibility_ms, backoff_kind, backoff_delay_ms, backoff_max_ms, backoff_jitter,
    key, errors, result, payload)
  SELECT id, queue, 'queued', priority, 0, max_attempts, 0, $15, available_at, expires_at, null, null,
    visibility_ms, backoff_kind, backoff_delay_ms, backoff_max_ms, backoff_jitter, key, '{}', null, payload
  FROM ids
  ON CONFLICT (queue, key) WHERE key IS NOT NULL DO NOTHING
  RETURNING id, queue, available_at
), delays AS (
  SELECT queue, min(available_at) AS at FROM ins WHERE available_at > $15 GROUP BY queue
), watched AS (
  SELECT name, wake_by FROM spool.queues WHERE name IN (SELECT queue FROM delays) ORDER BY name FOR SHARE
), ev AS (
  SELECT jsonb_agg(e) AS events FROM (
    SELECT jsonb_build_object('kind', 'ready', 'queue', queue) AS e
    FROM ins WHERE available_at <= $15 GROUP BY queue
    UNION ALL
    SELECT jsonb_build_object('kind', 'due', 'queue', d.queue, 'at', d.at)
    FROM delays d JOIN watched w ON w.name = d.queue WHERE d.at < w.wake_by
  ) x
), told AS (
  SELECT spool.tell($16, $17, events) AS n FROM ev
)
-- Aggregates, not joins of the batch's CTEs: their row estimates are guesses (ten rows for an
-- array in a generic plan), and a nested loop of ids and ins over 1,000 jobs took 80 ms.
SELECT (SELECT string_agg(id::text, ',' ORDER BY n) FROM ids) AS fresh_id,
  CASE WHEN (SELECT count(*) FROM ids) < (SELECT count(*) FROM input)
    THEN coalesce((SELECT array_agg(n ORDER BY n) FROM ids), '{}') END AS fresh_n,
  CASE WHEN (SELECT count(*) FROM ins) < (SELECT count(*) FROM ids)
    THEN coalesce((SELECT array_agg(id) FROM ins), '{}') END AS inserted,
  (SELECT array_agg(n ORDER BY n) FROM existing) AS existing_n,
  (SELECT array_agg(id ORDER BY n) FROM existing) AS existing_id,
  (SELECT name FROM refused) AS full_queue, (SELECT max_length FROM refused) AS max_length,
  (SELECT events FROM ev) AS events, (SELECT n FROM told) AS told
