-- Meta documents by name.
-- $1 names text[].
SELECT name, value FROM spool.meta WHERE name = ANY ($1)
