-- The audit trail (karte.AuditLog): FHIR AuditEvents in a hash chain, see
-- package audit. Writers serialise on an advisory lock (see audit.go), so
-- seq has no gaps and records become visible in seq order.
CREATE TABLE audit_log (
    seq        BIGINT PRIMARY KEY,
    time       BIGINT NOT NULL, -- unix nanoseconds, UTC
    event      BYTEA  NOT NULL, -- AuditEvent JSON, byte for byte (not JSONB)
    prev       BYTEA  NOT NULL, -- SHA-256 of the record before
    hash       BYTEA  NOT NULL, -- SHA-256 of this record
    checkpoint BYTEA            -- Ed25519 signature over hash, on some records
);

-- Append-only: kartehub never changes or removes a record, so any statement
-- that tries is a bug or an intrusion. The triggers stop the first kind;
-- someone who disables them first is caught by audit.Verify.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
