-- Waiting jobs among $1 out of line until $2 plus each one's visibility (Disque's DEQUEUE), no
-- attempt counted; jobs in other states are left alone.
-- $1 ids bigint[], $2 now float8.
-- One row per job held: its `id`.
UPDATE spool.jobs SET available_at = $2 + visibility_ms
WHERE id = ANY ($1) AND state = 'queued' AND (available_at <= $2 OR available_at <= created_at) AND (expires_at IS NULL OR expires_at > $2)
RETURNING id::text
