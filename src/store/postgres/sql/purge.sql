-- Removes every job of queue $1 that is not active.
-- $1 queue text, $2 channel text, $3 origin text.
-- One row: `n` removed, `events` sent.
WITH gone AS (
  DELETE FROM spool.jobs WHERE queue = $1 AND state <> 'active'
  RETURNING id, queue
), ev AS (
  SELECT jsonb_agg(jsonb_build_object('kind', 'ended', 'queue', queue, 'id', id::text, 'end', 'removed')) AS events
  FROM gone
)
SELECT (SELECT count(*) FROM gone)::float8 AS n, ev.events, spool.tell($2, $3, ev.events) AS told FROM ev
