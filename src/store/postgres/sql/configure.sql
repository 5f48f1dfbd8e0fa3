-- Writes a queue's settings and the columns the statements enforce from them.
-- $1 queue text, $2 settings jsonb, $3 paused boolean, $4 max_length bigint (null: none),
-- $5 keep_count float8, $6 keep_age float8, $7 channel text, $8 origin text, $9 resumed boolean,
-- $10 keep_dead_count float8, $11 keep_dead_age float8.
WITH ev AS (
  SELECT CASE WHEN $9 THEN jsonb_build_array(jsonb_build_object('kind', 'ready', 'queue', $1::text)) END AS events
), written AS (
  UPDATE spool.queues SET settings = $2, paused = $3, max_length = $4, keep_count = $5, keep_age = $6,
    keep_dead_count = $10, keep_dead_age = $11
  WHERE name = $1
  RETURNING name
)
SELECT (SELECT count(*) FROM written) AS n, ev.events, spool.tell($7, $8, ev.events) AS told FROM ev
