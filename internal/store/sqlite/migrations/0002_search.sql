-- Live resources: one row per resource that exists and is not deleted,
-- with rid, the compact key that every search index row refers to.
CREATE TABLE resource (
	rid          INTEGER PRIMARY KEY,
	rkey         INTEGER NOT NULL,
	type         TEXT    NOT NULL,
	id           TEXT    NOT NULL,
	version      INTEGER NOT NULL,
	seq          INTEGER NOT NULL, -- of the current version in resource_version
	last_updated INTEGER NOT NULL
);
CREATE INDEX resource_key ON resource (rkey);
CREATE INDEX resource_type ON resource (type);
CREATE INDEX resource_type_updated ON resource (type, last_updated);

-- Search index: the values of the current version of each live resource,
-- by search parameter (pkey). Each table is keyed by its values for
-- lookups (WITHOUT ROWID: the key is the table, one B-tree fewer to write)
-- and indexed by (rid, pkey) for checks on one resource and for removal.
-- Identical rows are stored once (INSERT OR IGNORE).
CREATE TABLE sp_string (
	rid   INTEGER NOT NULL,
	pkey  INTEGER NOT NULL,
	value TEXT    NOT NULL, -- folded
	exact TEXT    NOT NULL,
	PRIMARY KEY (pkey, value, rid, exact)
) WITHOUT ROWID;
CREATE INDEX sp_string_rid ON sp_string (rid, pkey);

CREATE TABLE sp_token (
	rid    INTEGER NOT NULL,
	pkey   INTEGER NOT NULL,
	system TEXT    NOT NULL,
	code   TEXT    NOT NULL,
	text   TEXT    NOT NULL, -- folded display or text, for :text
	PRIMARY KEY (pkey, code, system, rid, text)
) WITHOUT ROWID;
CREATE INDEX sp_token_rid ON sp_token (rid, pkey);

CREATE TABLE sp_reference (
	rid   INTEGER NOT NULL,
	pkey  INTEGER NOT NULL,
	ttype TEXT    NOT NULL,
	tid   TEXT    NOT NULL,
	tkey  INTEGER NOT NULL, -- rkey of the target, 0 for a URL
	url   TEXT    NOT NULL,
	PRIMARY KEY (pkey, tkey, rid, ttype, tid, url)
) WITHOUT ROWID;
CREATE INDEX sp_reference_rid ON sp_reference (rid, pkey);

CREATE TABLE sp_date (
	rid  INTEGER NOT NULL,
	pkey INTEGER NOT NULL,
	lo   INTEGER NOT NULL,
	hi   INTEGER NOT NULL,
	PRIMARY KEY (pkey, lo, hi, rid)
) WITHOUT ROWID;
CREATE INDEX sp_date_rid ON sp_date (rid, pkey);

CREATE TABLE sp_number (
	rid    INTEGER NOT NULL,
	pkey   INTEGER NOT NULL,
	value  REAL    NOT NULL,
	system TEXT    NOT NULL,
	code   TEXT    NOT NULL,
	cvalue REAL    NOT NULL,
	ccode  TEXT    NOT NULL,
	PRIMARY KEY (pkey, value, rid, system, code, cvalue, ccode)
) WITHOUT ROWID;
CREATE INDEX sp_number_rid ON sp_number (rid, pkey);

CREATE TABLE sp_uri (
	rid  INTEGER NOT NULL,
	pkey INTEGER NOT NULL,
	uri  TEXT    NOT NULL,
	PRIMARY KEY (pkey, uri, rid)
) WITHOUT ROWID;
CREATE INDEX sp_uri_rid ON sp_uri (rid, pkey);

CREATE TABLE sp_composite (
	rid     INTEGER NOT NULL,
	pkey    INTEGER NOT NULL,
	system1 TEXT    NOT NULL,
	code1   TEXT    NOT NULL,
	system2 TEXT    NOT NULL,
	code2   TEXT    NOT NULL,
	number2 REAL,
	lo2     INTEGER,
	hi2     INTEGER,
	string2 TEXT    NOT NULL,
	cnumber2 REAL,
	ccode2  TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sp_composite_code ON sp_composite (pkey, code1);
CREATE INDEX sp_composite_rid ON sp_composite (rid, pkey);

-- Fill the resource table for databases written before search existed;
-- their index rows come from a reindex.
INSERT INTO resource (rkey, type, id, version, seq, last_updated)
SELECT v.rkey, v.type, v.id, v.version, v.seq, v.last_updated
FROM resource_version v
WHERE v.deleted = 0 AND NOT EXISTS (
	SELECT 1 FROM resource_version n WHERE n.rkey = v.rkey AND n.type = v.type AND n.id = v.id AND n.version > v.version);
