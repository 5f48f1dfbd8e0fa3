-- Moves a current lease's end to $3 + $4.
-- $1 id bigint, $2 attempt integer, $3 now float8, $4 ms float8.
-- One row when the lease was current.
UPDATE spool.jobs SET until = $3 + $4
WHERE id = $1 AND state = 'active' AND attempts = $2 AND until > $3 AND (expires_at IS NULL OR expires_at > $3)
RETURNING until
