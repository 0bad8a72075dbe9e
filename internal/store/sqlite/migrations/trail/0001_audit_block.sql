-- The audit trail, in a database file of its own beside the record
-- (sqlite.AuditPath). Before schema version 7 of the record, these tables
-- were in the record's file; opening such a file moves their rows here.
--
-- The audit trail in blocks (karte.AuditLog, see kartehub/internal/store/
-- auditblock): each append, a batch of consecutive records, is one row of
-- audit_block, its records framed one after another in data, and idx says
-- which search values (karte.AuditRecord.Index) each record has.
-- first_seq is the rowid, so the last block is found at once.
CREATE TABLE audit_block (
	first_seq INTEGER PRIMARY KEY, -- seq of its first record
	last_seq  INTEGER NOT NULL,    -- seq of its last record
	min_time  INTEGER NOT NULL,    -- earliest and latest time of its records,
	max_time  INTEGER NOT NULL,    -- unix nanoseconds, UTC
	idx       BLOB    NOT NULL,    -- the search values of each record
	data      BLOB    NOT NULL     -- the records: seq, time, prev, hash, checkpoint, event
);
-- Searches by date find the first and the last block of a period.
CREATE INDEX audit_block_min_time ON audit_block (min_time);
CREATE INDEX audit_block_max_time ON audit_block (max_time);

-- The search index, built in epochs: an epoch is a run of blocks of some
-- thousand records (audit_epoch: records first_seq to last_seq), and once
-- its last block is appended, the rows of all its blocks are inserted
-- together, in key order, into audit_block_index: one row for each
-- distinct value that a record of a block is found by. Keyed by epoch
-- first, the rows of an epoch fill new pages at the end of the table
-- instead of touching pages all over it, which is what made an index row
-- cost more than the event it indexes. A search finds blocks of indexed
-- epochs here, reads the idx of the blocks after the last epoch itself,
-- and then picks their records by idx. The hash chain does not cover
-- these rows; audit.Verify derives them again from the events and
-- compares.
CREATE TABLE audit_epoch (
	first_seq INTEGER PRIMARY KEY, -- the first record of its first block
	last_seq  INTEGER NOT NULL     -- the last record of its last block
);
CREATE TABLE audit_block_index (
	epoch     INTEGER NOT NULL, -- audit_epoch.first_seq
	name      TEXT    NOT NULL, -- audit.Index* names: patient, agent, entity, ...
	value     TEXT    NOT NULL,
	first_seq INTEGER NOT NULL, -- audit_block.first_seq
	PRIMARY KEY (epoch, name, value, first_seq)
) WITHOUT ROWID;
-- Append-only: kartehub never changes or removes a block or
-- an index row, so any statement that tries is a bug or an intrusion. The
-- triggers stop the first kind; someone who drops them first is caught by
-- audit.Verify.
CREATE TRIGGER audit_block_no_update BEFORE UPDATE ON audit_block
BEGIN
	SELECT RAISE(ABORT, 'audit_block is append-only');
END;
CREATE TRIGGER audit_block_no_delete BEFORE DELETE ON audit_block
BEGIN
	SELECT RAISE(ABORT, 'audit_block is append-only');
END;
CREATE TRIGGER audit_epoch_no_update BEFORE UPDATE ON audit_epoch
BEGIN
	SELECT RAISE(ABORT, 'audit_epoch is append-only');
END;
CREATE TRIGGER audit_epoch_no_delete BEFORE DELETE ON audit_epoch
BEGIN
	SELECT RAISE(ABORT, 'audit_epoch is append-only');
END;
CREATE TRIGGER audit_block_index_no_update BEFORE UPDATE ON audit_block_index
BEGIN
	SELECT RAISE(ABORT, 'audit_block_index is append-only');
END;
CREATE TRIGGER audit_block_index_no_delete BEFORE DELETE ON audit_block_index
BEGIN
	SELECT RAISE(ABORT, 'audit_block_index is append-only');
END;
