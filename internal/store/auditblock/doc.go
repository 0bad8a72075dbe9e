// Package auditblock is how both storage engines keep the audit trail
// (karte.AuditLog): the format of its blocks, the search index built from
// them, and the picking of records that match a karte.AuditQuery. The
// engines hold the SQL; this package holds what they share, so that they
// store and find records alike (kartehub/internal/audit/audittest holds
// them to it).
//
// # Blocks
//
// Each append, a batch of consecutive records (an audit.Writer appends
// the events recorded while the previous append committed), is one row of
// the table audit_block: first_seq (the key), last_seq, min_time and
// max_time (the earliest and latest Time of its records, in Unix
// nanoseconds), and two BLOBs, data and idx (Encode, Block). One row for
// many records is what makes recording an event cheap: one insert and a
// few pages written per commit, rather than a row, its index entries and
// their pages for each event.
//
// data is a format byte, 2, and then the records compressed with Snappy
// (block format; Compress, Block.Plain): the events of one append repeat
// the same agents, systems and codes, and shrink about ninefold. Blocks
// written before compression have the format byte 1 and the records as
// they are. Uncompressed, data holds the records one after another, after
// a format byte (1):
//
//	seq         8 bytes, big-endian
//	time        8 bytes, big-endian: Unix nanoseconds
//	prev        4-byte big-endian length, then the bytes
//	hash        4-byte length, then the bytes
//	checkpoint  4-byte length, then the bytes; the length FFFFFFFF for none
//	event       4-byte length, then the AuditEvent JSON, byte for byte
//
// The fields are those of karte.AuditRecord, which the hash chain of
// package audit covers: altering a byte of a record's event or time breaks
// its hash, and Block.Records names the first record it cannot read if
// lengths or numbers are altered (karte.AuditDamageError), so that
// audit.Verify reports tampering at record granularity inside a block.
// Records must follow each other in Seq order within the block's columns,
// and lie within its period, or searches by number or date could miss
// them; a record missing from a block is no damage but a gap that Verify
// reports as a deletion.
//
// idx holds the index entries of the records (karte.AuditRecord.Index),
// after a format byte (1): the block's distinct entries once each, then,
// for each record, the numbers of its own entries (see encodeIndex). The
// chain does not cover it: Verify derives every record's entries again
// from its event and compares.
//
// # The index
//
// Writing one index row per value and event in the append's transaction
// cost more than the event itself: the values of a key like (name, value)
// are scattered over the whole B-tree, so every row dirtied a page of its
// own, and SQLite writes a whole page into its WAL at every commit that
// changes it. The engines therefore index in epochs: once the blocks after
// the last epoch hold EpochRecords records or more, the appends that
// follow insert their rows of audit_block_index (epoch, name, value,
// first_seq), one for each distinct entry of each block, in key order
// (EpochRows), a few hundred to each append (StepRows, EpochCache), and
// once the last is in, the epoch into audit_epoch; until then the epoch
// counts as not yet indexed. Keyed by epoch first, those rows fill new
// pages at the end of the table. A search finds
// the blocks of indexed epochs by their rows, and reads the idx of every
// block after the last epoch (at most a few thousand records); in both it
// then picks the matching records by idx (Query). A search therefore sees
// every record the moment its append commits.
//
// AuditRecords gives each record the entries a search finds it by (Page):
// in an indexed epoch, those of its own entries that its block's rows
// hold, with rows that no record of the block has added to the block's
// last record; after the last epoch, its own entries. Verify compares them
// with those of the event, so that rows or idx entries removed, changed or
// added show as an index mismatch of the record they concern.
package auditblock
