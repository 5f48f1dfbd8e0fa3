-- Jobs of queue $1 in state $6 back in line at $2: those in $3, or all when null. Dead jobs
-- ('dead') come back with fresh attempts; delayed ones ('delayed') become due now, behind the
-- jobs already waiting. Each arm of the OR names its own state, so each can use its partial index.
-- $1 queue text, $2 now float8, $3 ids bigint[], $4 channel text, $5 origin text, $6 state text.
-- One row: `n` requeued, `events` sent.
WITH back AS (
  UPDATE spool.jobs
  SET state = 'queued', available_at = $2, until = null, finish = null,
    attempts = CASE WHEN state = 'dead' THEN 0 ELSE attempts END
  WHERE queue = $1 AND ($3::bigint[] IS NULL OR id = ANY ($3))
    AND (($6::text = 'dead' AND state = 'dead') OR ($6::text = 'delayed' AND state = 'queued' AND available_at > created_at AND available_at > $2))
  RETURNING id
), ev AS (
  SELECT CASE WHEN count(*) > 0 THEN jsonb_build_array(jsonb_build_object('kind', 'ready', 'queue', $1::text)) END AS events,
    count(*)::float8 AS n
  FROM back
)
SELECT ev.n, ev.events, spool.tell($4, $5, ev.events) AS told FROM ev
