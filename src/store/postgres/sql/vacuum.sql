-- Makes the space of the rows that leases, acks and prunes left behind reusable, so that the jobs
-- table and its indexes level off under churn; run by the store itself, since a server may run
-- without autovacuum (this project's test servers do) or let it fall behind a queue's churn.
-- No parameters.
VACUUM spool.jobs
