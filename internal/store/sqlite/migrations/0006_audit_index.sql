-- The search index of the audit trail (karte.AuditRecord.Index): the
-- values each record is found by, derived from its AuditEvent by package
-- audit and inserted in the transaction that appends the record. The hash
-- chain does not cover these rows; audit.Verify derives them again from
-- the events and compares. Records appended before this migration have no
-- rows (Verify counts them as unindexed).
CREATE TABLE audit_index (
	name  TEXT    NOT NULL, -- audit.Index* names: patient, agent, entity, ...
	value TEXT    NOT NULL,
	seq   INTEGER NOT NULL, -- audit_log.seq
	PRIMARY KEY (name, value, seq)
) WITHOUT ROWID;
-- A record's entries, for AuditRecords (and so Verify).
CREATE INDEX audit_index_seq ON audit_index (seq);
-- Searches by date.
CREATE INDEX audit_log_time ON audit_log (time);

-- Append-only, like audit_log: removing a row would hide a record from
-- the auditors' searches.
CREATE TRIGGER audit_index_no_update BEFORE UPDATE ON audit_index
BEGIN
	SELECT RAISE(ABORT, 'audit_index is append-only');
END;
CREATE TRIGGER audit_index_no_delete BEFORE DELETE ON audit_index
BEGIN
	SELECT RAISE(ABORT, 'audit_index is append-only');
END;
