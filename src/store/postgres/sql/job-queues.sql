-- The queues of jobs by id (to settle them before reading the jobs).
-- $1 ids bigint[].
SELECT DISTINCT queue FROM spool.jobs WHERE id = ANY ($1)
