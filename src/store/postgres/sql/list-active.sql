-- Active jobs by lease end.
-- $1 queue text, $2 now float8, $3 offset bigint, $4 limit bigint.
SELECT * FROM spool.jobs
WHERE queue = $1 AND state = 'active' AND $2 = $2
ORDER BY until, id
OFFSET $3 LIMIT $4
