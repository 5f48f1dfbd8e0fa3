-- The queue list.
SELECT name FROM spool.queues WHERE known ORDER BY name COLLATE "C"
