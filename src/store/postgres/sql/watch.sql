-- Registers a watch of job $1 (007-watches.sql): from its commit, an ack that ends the job tells
-- every process. The key-share lock on the job's row orders it against an ack of that job (the
-- ack locks FOR UPDATE) and not against a lease (FOR NO KEY UPDATE SKIP LOCKED): under a share
-- lock a lease skipped the job while a watch of it was on its way.
-- $1 id bigint.
-- One row, `ticket`, when the job is there; none when it is not.
INSERT INTO spool.watches (job)
SELECT id FROM spool.jobs WHERE id = $1 FOR KEY SHARE
RETURNING ticket
