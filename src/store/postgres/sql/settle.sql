-- Applies what `now` makes due in the queues: jobs past their TTL go (and are counted), ended
-- leases are reclaimed (back in line as of the lease end, or dead once out of attempts).
-- $1 queues text[], $2 now float8, $3 channel text, $4 origin text.
-- One row: `events`, the ended events sent.
WITH expired AS (
  DELETE FROM spool.jobs WHERE queue = ANY ($1) AND expires_at <= $2
  RETURNING id, queue
), reclaimed AS (
  UPDATE spool.jobs SET
    errors = (errors || 'lease expired'::text)[greatest(1, cardinality(errors) - 8):],
    state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END,
    available_at = CASE WHEN attempts >= max_attempts THEN available_at ELSE until END,
    finish = CASE WHEN attempts >= max_attempts THEN nextval('spool.finishes') END,
    until = CASE WHEN attempts >= max_attempts THEN $2 END
  WHERE queue = ANY ($1) AND state = 'active' AND until <= $2 AND (expires_at IS NULL OR expires_at > $2)
  RETURNING id, queue, state
), counted AS (
  UPDATE spool.queues q SET expired = q.expired + e.n
  FROM (SELECT queue, count(*) AS n FROM expired GROUP BY queue) e
  WHERE q.name = e.queue
  RETURNING q.name
), ev AS (
  SELECT jsonb_agg(jsonb_build_object('kind', 'ended', 'queue', queue, 'id', id::text, 'end', e)) AS events
  FROM (
    SELECT id, queue, 'expired' AS e FROM expired
    UNION ALL SELECT id, queue, 'dead' FROM reclaimed WHERE state = 'dead'
  ) x
)
SELECT ev.events, spool.tell($3, $4, ev.events) AS told, (SELECT count(*) FROM counted) AS queues FROM ev
