-- Progress of long-running jobs (reindexing), so they resume after a restart.
CREATE TABLE job (
	name    TEXT PRIMARY KEY,
	state   BLOB    NOT NULL,
	updated INTEGER NOT NULL
);
