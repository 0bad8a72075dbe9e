-- Every version of every resource. seq numbers the versions in the order
-- they were written (karte.Resource.Seq), which is how history pages are cut.
CREATE TABLE resource_version (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    type         TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    version      BIGINT  NOT NULL,
    last_updated BIGINT  NOT NULL, -- unix milliseconds
    deleted      BOOLEAN NOT NULL,
    method       TEXT    NOT NULL,
    body         BYTEA,            -- NULL for deletions; BYTEA, not JSONB, to keep it byte for byte
    CONSTRAINT resource_version_key UNIQUE (type, id, version)
);

-- Type-level history, newest first.
CREATE INDEX resource_version_type_seq ON resource_version (type, seq);

-- The current version of each resource, deleted or not.
CREATE TABLE resource (
    type    TEXT    NOT NULL,
    id      TEXT    NOT NULL,
    version BIGINT  NOT NULL,
    seq     BIGINT  NOT NULL,
    deleted BOOLEAN NOT NULL,
    CONSTRAINT resource_pkey PRIMARY KEY (type, id)
);

-- Identifiers of current, not deleted versions, replaced on every Put.
CREATE TABLE resource_identifier (
    type   TEXT NOT NULL,
    id     TEXT NOT NULL,
    system TEXT NOT NULL,
    value  TEXT NOT NULL
);

-- FindByIdentifier, with or without a system.
CREATE INDEX resource_identifier_value ON resource_identifier (type, value, system);

-- Put replaces a resource's identifiers.
CREATE INDEX resource_identifier_resource ON resource_identifier (type, id);
