-- Progress of long-running jobs (reindexing), so they resume after a
-- restart; as in SQLite.
CREATE TABLE job (
    name    TEXT   PRIMARY KEY,
    state   BYTEA  NOT NULL,
    updated BIGINT NOT NULL -- unix milliseconds
);
