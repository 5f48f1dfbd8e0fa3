-- Names of the meta documents starting with $1.
-- $1 prefix text.
SELECT name FROM spool.meta WHERE starts_with(name, $1) ORDER BY name COLLATE "C"
