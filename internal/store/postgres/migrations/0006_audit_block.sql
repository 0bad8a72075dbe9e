-- The audit trail in blocks (karte.AuditLog, see kartehub/internal/store/
-- auditblock), as in SQLite: each append, a batch of consecutive records,
-- is one row of audit_block, its records framed one after another in data,
-- and idx says which search values (karte.AuditRecord.Index) each record
-- has. Writers serialise on an advisory lock (see audit.go), so blocks
-- follow each other without gaps and become visible in order.
CREATE TABLE audit_block (
    first_seq BIGINT PRIMARY KEY, -- seq of its first record
    last_seq  BIGINT NOT NULL,    -- seq of its last record
    min_time  BIGINT NOT NULL,    -- earliest and latest time of its records,
    max_time  BIGINT NOT NULL,    -- unix nanoseconds, UTC
    idx       BYTEA  NOT NULL,    -- the search values of each record
    data      BYTEA  NOT NULL     -- the records: seq, time, prev, hash, checkpoint, event
);
-- Searches by date find the first and the last block of a period.
CREATE INDEX audit_block_min_time ON audit_block (min_time);
CREATE INDEX audit_block_max_time ON audit_block (max_time);

-- The search index, built in epochs as in SQLite: an epoch is a run of
-- blocks of some thousand records (audit_epoch: records first_seq to
-- last_seq), and once its last block is appended, the rows of all its
-- blocks are inserted together, in key order, into audit_block_index: one
-- row for each distinct value that a record of a block is found by. A
-- search finds blocks of indexed epochs here, reads the idx of the blocks
-- after the last epoch itself, and then picks their records by idx. The
-- hash chain does not cover these rows; audit.Verify derives them again
-- from the events and compares.
CREATE TABLE audit_epoch (
    first_seq BIGINT PRIMARY KEY, -- the first record of its first block
    last_seq  BIGINT NOT NULL     -- the last record of its last block
);
CREATE TABLE audit_block_index (
    epoch     BIGINT           NOT NULL, -- audit_epoch.first_seq
    name      TEXT COLLATE "C" NOT NULL, -- audit.Index* names: patient, agent, entity, ...
    value     TEXT COLLATE "C" NOT NULL,
    first_seq BIGINT           NOT NULL, -- audit_block.first_seq
    PRIMARY KEY (epoch, name, value, first_seq)
);
-- Append-only, as audit_log: kartehub never changes or removes a block or
-- an index row, so any statement that tries is a bug or an intrusion. The
-- triggers stop the first kind; someone who disables them first is caught
-- by audit.Verify.
CREATE FUNCTION audit_block_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;
CREATE TRIGGER audit_block_no_change BEFORE UPDATE OR DELETE ON audit_block
    FOR EACH ROW EXECUTE FUNCTION audit_block_append_only();
CREATE TRIGGER audit_block_no_truncate BEFORE TRUNCATE ON audit_block
    FOR EACH STATEMENT EXECUTE FUNCTION audit_block_append_only();
CREATE TRIGGER audit_epoch_no_change BEFORE UPDATE OR DELETE ON audit_epoch
    FOR EACH ROW EXECUTE FUNCTION audit_block_append_only();
CREATE TRIGGER audit_epoch_no_truncate BEFORE TRUNCATE ON audit_epoch
    FOR EACH STATEMENT EXECUTE FUNCTION audit_block_append_only();
CREATE TRIGGER audit_block_index_no_change BEFORE UPDATE OR DELETE ON audit_block_index
    FOR EACH ROW EXECUTE FUNCTION audit_block_append_only();
CREATE TRIGGER audit_block_index_no_truncate BEFORE TRUNCATE ON audit_block_index
    FOR EACH STATEMENT EXECUTE FUNCTION audit_block_append_only();

-- The records of audit_log, written by kartehub before schema version 6,
-- become blocks of one record each, byte for byte, with no search values
-- (audit.Verify counts them as unindexed). audit_log keeps its rows but is
-- read no more, and refuses new ones: a kartehub of an older version that
-- still runs on the database fails to record rather than fork the trail.
INSERT INTO audit_block (first_seq, last_seq, min_time, max_time, idx, data)
SELECT seq, seq, time, time, '\x01000100'::bytea, '\x01'::bytea
    || int8send(seq) || int8send(time)
    || int4send(length(prev)) || prev
    || int4send(length(hash)) || hash
    || CASE WHEN checkpoint IS NULL THEN '\xffffffff'::bytea
            ELSE int4send(length(checkpoint)) || checkpoint END
    || int4send(length(event)) || event
FROM audit_log ORDER BY seq;
-- They have nothing to index: one epoch covers them all.
INSERT INTO audit_epoch (first_seq, last_seq) SELECT min(seq), max(seq) FROM audit_log HAVING count(*) > 0;
CREATE FUNCTION audit_log_read_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is read-only since schema version 6: records go to audit_block';
END
$$;
CREATE TRIGGER audit_log_no_insert BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_read_only();
