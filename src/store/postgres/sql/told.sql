-- A lease found nothing: records that its leases sleep until the answer at most (told() in 001-jobs.sql).
-- $1 queues text[], $2 now float8.
SELECT spool.told($1, $2) AS next_at
