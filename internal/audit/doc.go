// Package audit keeps kartehub's audit trail: a record of every access to
// a patient's data and of every login, protected against alteration, as the
// MHLW guideline for medical information systems asks.
//
// Each event is a FHIR R4 AuditEvent in the shape of the IHE Basic Audit
// Log Patterns (Event.JSON), stored in a karte.AuditLog (a table of the
// database, in both engines) as a karte.AuditRecord. Records are numbered
// 1, 2, 3, ... without gaps and form a hash chain: each record's Hash is
//
//	SHA-256( Prev || Seq || Time || Event )
//
// where Prev is the Hash of the record before (32 zero bytes for record 1,
// always 32 bytes), Seq and Time are 8-byte big-endian signed integers
// (Time as nanoseconds since the Unix epoch, UTC), and Event is the JSON
// as stored, to the end. Every field but the last has a fixed size, so the
// encoding is unambiguous; see Hash. Changing, removing or inserting a
// record breaks the chain at that record.
//
// Someone who can write to the database could still rewrite the chain from
// some record on, recomputing every hash. Checkpoints stop that: every
// 1000th record (Chain.Every), the last record of a batch after a quiet
// minute (WriterOptions.Interval), and any record recorded with
// Writer.Checkpoint carries an Ed25519 signature over its Hash, which vouches
// for it and every record before it. The signing key is a file in the data
// directory (KeyFile, mode 0600, see LoadKey); the public key beside it
// (PublicKeyFile) is all that Verify needs, so an auditor can check a copy of
// the database on another machine with the public key alone. What no
// signature can cover are the records after the last checkpoint: they may be
// cut off or rewritten unnoticed until the next one, which is why the
// Writer signs on a timer too.
//
// Writer appends events in batches: Record returns once the event is
// durable, and the events recorded while one batch commits go together in
// the next, so concurrent requests share commits; under load the Writer
// lingers a moment for more (WriterOptions.Linger), since one durable
// commit of many events costs far less than many of a few. Verify walks a
// whole log and names the first broken record and what is wrong with it.
// The command "kartehub audit verify" runs it.
//
// Auditors find records by an index: Index derives from each AuditEvent
// the values it is searched by (patient, agent, entity, action, type,
// subtype, outcome, address, ...), and the Writer hands them to the log
// with the record (karte.AuditRecord.Index), which stores them in the same
// transaction and searches them (karte.AuditSearcher). The Writer derives
// them from the AuditEvent it writes, by the rules that Index applies to
// the JSON, rather than parse its own JSON back; Verify uses Index. The
// index is derived data: the hash chain does not cover it, and Verify
// derives it again from every event and reports stored entries that differ
// (IndexMismatch), which is what removing a record from the index, to hide
// it from searches, looks like.
//
// Both engines keep each append as one block: one row holding the batch's
// records and their index entries, and search rows built from the blocks
// in bulk every few thousand records (kartehub/internal/store/auditblock
// has the format). The interfaces still speak of records: Verify checks
// every record of every block, and names the first one a damaged block
// cannot give back (karte.AuditDamageError).
//
// Several servers on one PostgreSQL database append to one log: the engine
// serialises appends, and a Writer that finds its view of the log stale
// chains its batch again. They must then share one signing key (copy the key
// file), or Verify will reject the other servers' checkpoints.
package audit
