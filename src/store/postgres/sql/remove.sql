-- Removes jobs by id, those in one of the states $3 (null: any) at $2.
-- $1 ids bigint[], $2 now float8, $3 states text[], $4 channel text, $5 origin text.
-- One row per job removed: `id`; the first row carries the `events` sent (see ack.sql).
WITH gone AS (
  DELETE FROM spool.jobs
  WHERE id = ANY ($1) AND ($3::text[] IS NULL OR spool.state_at(state, available_at, created_at, $2) = ANY ($3))
  RETURNING id, queue
), ev AS (
  SELECT jsonb_agg(jsonb_build_object('kind', 'ended', 'queue', queue, 'id', id::text, 'end', 'removed')) AS events
  FROM gone
), told AS (
  SELECT spool.tell($4, $5, events) AS n FROM ev
)
SELECT g.id, CASE WHEN row_number() OVER () = 1 THEN (SELECT events FROM ev) END AS events,
  (SELECT n FROM told) AS told
FROM gone g
