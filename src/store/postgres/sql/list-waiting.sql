-- Waiting jobs in lease order.
-- $1 queue text, $2 now float8, $3 offset bigint, $4 limit bigint.
SELECT * FROM spool.jobs
WHERE queue = $1 AND state = 'queued' AND (available_at <= $2 OR available_at <= created_at) AND (expires_at IS NULL OR expires_at > $2)
ORDER BY priority DESC, available_at, id
OFFSET $3 LIMIT $4
