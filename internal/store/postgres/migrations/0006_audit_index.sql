-- The search index of the audit trail (karte.AuditRecord.Index), as in
-- SQLite: the values each record is found by, derived from its AuditEvent
-- by package audit and inserted in the statement that appends the record.
-- The hash chain does not cover these rows; audit.Verify derives them
-- again from the events and compares. Records appended before this
-- migration have no rows (Verify counts them as unindexed).
CREATE TABLE audit_index (
    name  TEXT COLLATE "C" NOT NULL, -- audit.Index* names: patient, agent, entity, ...
    value TEXT COLLATE "C" NOT NULL,
    seq   BIGINT           NOT NULL, -- audit_log.seq
    PRIMARY KEY (name, value, seq)
);
-- A record's entries, for AuditRecords (and so Verify).
CREATE INDEX audit_index_seq ON audit_index (seq);
-- Searches by date.
CREATE INDEX audit_log_time ON audit_log (time);

-- Append-only, like audit_log: removing a row would hide a record from
-- the auditors' searches.
CREATE FUNCTION audit_index_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_index is append-only';
END
$$;
CREATE TRIGGER audit_index_no_change BEFORE UPDATE OR DELETE ON audit_index
    FOR EACH ROW EXECUTE FUNCTION audit_index_append_only();
CREATE TRIGGER audit_index_no_truncate BEFORE TRUNCATE ON audit_index
    FOR EACH STATEMENT EXECUTE FUNCTION audit_index_append_only();
