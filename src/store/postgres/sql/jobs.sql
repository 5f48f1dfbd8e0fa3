-- Jobs by id, in no order.
-- $1 ids bigint[].
SELECT * FROM spool.jobs WHERE id = ANY ($1)
