-- Every version of every resource, in the order written (seq). The current
-- version of a resource is its highest version: the unique index finds it
-- with one seek, so no separate table of current versions is kept up to
-- date on every write.
CREATE TABLE resource_version (
	seq          INTEGER PRIMARY KEY,
	type         TEXT    NOT NULL,
	id           TEXT    NOT NULL,
	version      INTEGER NOT NULL,
	last_updated INTEGER NOT NULL, -- unix milliseconds
	deleted      INTEGER NOT NULL,
	method       TEXT    NOT NULL,
	body         BLOB,             -- NULL for deletions
	UNIQUE (type, id, version)
);
CREATE INDEX resource_version_type_seq ON resource_version (type, seq);

-- Identifiers of current, not deleted versions, for conditional interactions.
CREATE TABLE resource_identifier (
	type   TEXT NOT NULL,
	value  TEXT NOT NULL,
	system TEXT NOT NULL,
	id     TEXT NOT NULL,
	PRIMARY KEY (type, value, system, id)
) WITHOUT ROWID;
CREATE INDEX resource_identifier_resource ON resource_identifier (type, id);
