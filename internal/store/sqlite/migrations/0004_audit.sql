-- The audit trail (karte.AuditLog): FHIR AuditEvents in a hash chain, see
-- package audit. seq is the rowid, so the last record is found at once.
CREATE TABLE audit_log (
	seq        INTEGER PRIMARY KEY,
	time       INTEGER NOT NULL, -- unix nanoseconds, UTC
	event      BLOB    NOT NULL, -- AuditEvent JSON, byte for byte
	prev       BLOB    NOT NULL, -- SHA-256 of the record before
	hash       BLOB    NOT NULL, -- SHA-256 of this record
	checkpoint BLOB              -- Ed25519 signature over hash, on some records
);

-- Append-only: kartehub never changes or removes a record, so any statement
-- that tries is a bug or an intrusion. The triggers stop the first kind;
-- someone who drops them first is caught by audit.Verify.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'audit_log is append-only');
END;
