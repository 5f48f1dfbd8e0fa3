-- Delayed jobs by the end of their delay.
-- $1 queue text, $2 now float8, $3 offset bigint, $4 limit bigint.
SELECT * FROM spool.jobs
WHERE queue = $1 AND state = 'queued' AND available_at > created_at AND available_at > $2
ORDER BY available_at, id
OFFSET $3 LIMIT $4
