-- The audit trail is kept in a file of its own (sqlite.AuditPath), so that
-- its commits, many a second, do not empty the page caches of the
-- connections that read the record. Its rows were copied there just
-- before this migration (moveTrail), in a transaction of the trail's that
-- is durable before this one starts; the tables go with their triggers.
DROP TABLE audit_block_index;
DROP TABLE audit_epoch;
DROP TABLE audit_block;
DROP TABLE audit_log;
