-- Every version of every resource, in the order written (seq).
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

-- The current version of each resource.
CREATE TABLE resource (
	type    TEXT    NOT NULL,
	id      TEXT    NOT NULL,
	version INTEGER NOT NULL,
	seq     INTEGER NOT NULL,
	deleted INTEGER NOT NULL,
	PRIMARY KEY (type, id)
) WITHOUT ROWID;

-- Identifiers of current, not deleted versions, for conditional interactions.
CREATE TABLE resource_identifier (
	type   TEXT NOT NULL,
	id     TEXT NOT NULL,
	system TEXT NOT NULL,
	value  TEXT NOT NULL
);
CREATE INDEX resource_identifier_value ON resource_identifier (type, value, system);
CREATE INDEX resource_identifier_resource ON resource_identifier (type, id);
