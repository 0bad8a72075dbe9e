-- Every version of every resource, in the order written (seq).
--
-- Lookups by resource go through rkey, a 64-bit hash of "type/id" (see
-- key.go), rather than an index on the id strings: ids are random, so each
-- commit touches index pages all over, and an index of 8-byte keys has a
-- fraction of the pages to touch. Type and id are still compared on every
-- lookup, so a hash collision costs a row read, never a wrong answer. The
-- current version of a resource is its highest version.
CREATE TABLE resource_version (
	seq          INTEGER PRIMARY KEY,
	rkey         INTEGER NOT NULL,
	type         TEXT    NOT NULL,
	id           TEXT    NOT NULL,
	version      INTEGER NOT NULL,
	last_updated INTEGER NOT NULL, -- unix milliseconds
	deleted      INTEGER NOT NULL,
	method       TEXT    NOT NULL,
	body         BLOB              -- NULL for deletions
);
CREATE INDEX resource_version_key ON resource_version (rkey, version);
CREATE INDEX resource_version_type_seq ON resource_version (type, seq);

-- Identifiers of current, not deleted versions, for conditional
-- interactions; vkey hashes "type|value" as rkey hashes "type/id".
CREATE TABLE resource_identifier (
	rkey   INTEGER NOT NULL,
	vkey   INTEGER NOT NULL,
	type   TEXT    NOT NULL,
	id     TEXT    NOT NULL,
	system TEXT    NOT NULL,
	value  TEXT    NOT NULL
);
CREATE INDEX resource_identifier_value ON resource_identifier (vkey);
CREATE INDEX resource_identifier_resource ON resource_identifier (rkey);
