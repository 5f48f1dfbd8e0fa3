-- Ends a watch (watch.sql); the ack that ended its job has deleted it already.
-- $1 ticket bigint.
DELETE FROM spool.watches WHERE ticket = $1
