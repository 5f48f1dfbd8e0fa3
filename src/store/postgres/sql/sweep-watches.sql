-- Deletes the watches of jobs that ended other than by an ack, or that are gone, left by a
-- process that stopped before it deleted its own (007-watches.sql); run before each vacuum.
-- No parameters.
DELETE FROM spool.watches w
WHERE NOT EXISTS (SELECT 1 FROM spool.jobs j WHERE j.id = w.job AND j.state IN ('queued', 'active'))
