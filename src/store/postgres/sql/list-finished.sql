-- Dead or completed jobs in the order they finished.
-- $1 queue text, $2 state text ('dead' or 'completed'), $3 offset bigint, $4 limit bigint.
SELECT * FROM spool.jobs
WHERE queue = $1 AND state = $2 AND state IN ('dead', 'completed')
ORDER BY finish
OFFSET $3 LIMIT $4
