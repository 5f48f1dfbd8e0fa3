-- The stored settings of queues (null: the defaults).
-- $1 queues text[].
SELECT n.name, q.settings
FROM unnest($1::text[]) WITH ORDINALITY AS n (name, i)
LEFT JOIN spool.queues q ON q.name = n.name
ORDER BY n.i
