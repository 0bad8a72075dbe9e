-- The id of the audit trail this record belongs with (see pairTrail):
-- kartehub refuses to open the record beside a trail of another id.
CREATE TABLE audit_trail (
	id TEXT NOT NULL
);
