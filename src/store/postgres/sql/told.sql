-- A lease found nothing: records that its leases sleep until the answer at most, and no longer
-- than $3 (told() in 005-wake-horizon.sql).
-- Committed without waiting for its WAL flush (synchronous_commit off for this transaction), as a
-- lease is: a record lost in a server crash wakes nobody late, since every store wakes its
-- blocked leases itself once it listens again (events.ts); meanwhile an idle worker's next lease
-- no longer waits a flush behind this row's lock (issue 15's add→handler latency).
-- $1 queues text[], $2 now float8, $3 horizon float8.
SELECT spool.told($1, $2, $3) AS next_at, set_config('synchronous_commit', 'off', true) AS quick
