-- Dead jobs of queue $1 back in line at $2 with fresh attempts: those in $3, or all when null.
-- $1 queue text, $2 now float8, $3 ids bigint[], $4 channel text, $5 origin text.
-- One row: `n` retried, `events` sent.
WITH back AS (
  UPDATE spool.jobs SET state = 'queued', attempts = 0, until = null, finish = null, available_at = $2
  WHERE queue = $1 AND state = 'dead' AND ($3::bigint[] IS NULL OR id = ANY ($3))
  RETURNING id
), ev AS (
  SELECT CASE WHEN count(*) > 0 THEN jsonb_build_array(jsonb_build_object('kind', 'ready', 'queue', $1::text)) END AS events,
    count(*)::float8 AS n
  FROM back
)
SELECT ev.n, ev.events, spool.tell($4, $5, ev.events) AS told FROM ev
