package karte

import (
	"context"
	"fmt"
	"time"
)

// AuditLog keeps audit records append-only, in sequence. It is an optional
// interface of a Store: the engine keeps the records next to the data they
// describe, so that one backup holds both. Implementations are safe for
// concurrent use, also by several processes on one database.
//
// The log itself checks only the numbering; what makes the trail
// tamper-evident (the hash chain and the signed checkpoints) is computed by
// package audit before AppendAudit and checked by audit.Verify.
type AuditLog interface {
	// AppendAudit stores recs, and the entries of their Index, in one
	// durable transaction: when it returns nil, all of them survive a
	// crash; otherwise none is stored. recs must be numbered
	// consecutively, starting at the next sequence number (one more than
	// the last record's, or 1 on an empty log); otherwise it returns an
	// *Error of Kind Conflict and stores nothing, so that a writer that
	// lost a race with another can reread the last record and retry. An
	// empty recs does nothing.
	AppendAudit(ctx context.Context, recs []AuditRecord) error

	// AuditRecords returns up to n records with Seq > after, in Seq order,
	// each with its Index as stored: the entries searches find it by,
	// sorted by Name, then Value, and any entry the log keeps for it
	// without it being one of the record's, so that audit.Verify sees
	// those too. Fewer than n means the end of the log. If the stored records cannot
	// be read back as records from some record on (storage damaged or
	// tampered with), it returns the records before that one and an
	// *AuditDamageError that names it.
	AuditRecords(ctx context.Context, after int64, n int) ([]AuditRecord, error)

	// LastAudit returns the record with the highest Seq, or nil if the log
	// is empty. Its Index is left nil.
	LastAudit(ctx context.Context) (*AuditRecord, error)
}

// AuditRecord is one entry of the audit trail: a FHIR AuditEvent, linked
// to the entry before it by a hash chain.
type AuditRecord struct {
	Seq  int64     // 1, 2, 3, ... without gaps
	Time time.Time // trusted server time of the event, kept at nanosecond precision
	// Event is the FHIR R4 AuditEvent as JSON, kept byte for byte.
	Event []byte
	// Prev is Hash of the record before (32 zero bytes for the first), and
	// Hash is the SHA-256 of this record (see package audit for the
	// encoding).
	Prev, Hash []byte
	// Checkpoint, on some records, is an Ed25519 signature over Hash: it
	// vouches for this record and, through the chain, every one before it.
	Checkpoint []byte
	// Index holds the values the record is found by in an AuditQuery,
	// derived from Event by package audit (audit.Index) before the record
	// is appended, and stored beside it in the same transaction. The hash
	// chain does not cover it: it can be computed again from Event at any
	// time, which is how audit.Verify checks it. The log keeps an entry
	// given twice once, and returns the entries sorted; it returns a nil
	// Index for a record stored without entries (as records written before
	// schema version 6), and an empty one for a record whose stored
	// entries no search finds any more.
	Index []AuditIndexEntry
}

// AuditDamageError is the error of AuditRecords (and of the searches and
// LastAudit) when what the log stores from record Seq on cannot be read
// back as records: bytes were altered or cut, or the stored numbering
// disagrees with itself. audit.Verify reports it as a broken record.
type AuditDamageError struct {
	Seq    int64 // the first record that cannot be read
	Reason string
}

func (e *AuditDamageError) Error() string {
	return fmt.Sprintf("audit record %d cannot be read: %s", e.Seq, e.Reason)
}

// AuditIndexEntry is one value a record is found by: the record matches a
// filter with the same Name and, among its Values, this Value, compared
// byte for byte.
type AuditIndexEntry struct {
	Name, Value string
}

// AuditSearcher is an optional interface of an AuditLog: it finds records
// by their Index and time, for the auditors who review the trail. Both
// engines implement it.
type AuditSearcher interface {
	// SearchAudit returns up to q.Limit records that match q, in Seq
	// order (descending if q.Descending), with Index left nil. Fewer than
	// q.Limit means there are no more. It returns an *Error of Kind
	// Invalid for a query that fails Validate, or a Limit below 1.
	SearchAudit(ctx context.Context, q AuditQuery) ([]AuditRecord, error)

	// CountAudit returns how many records match q, however many its
	// Limit; an *Error of Kind Invalid for a query that fails Validate.
	CountAudit(ctx context.Context, q AuditQuery) (int64, error)
}

// AuditQuery selects audit records: those that match every filter, and
// whose Time and Seq lie in the given ranges. Zero values leave a bound
// open.
type AuditQuery struct {
	// Filters must all match. Engines may drive the search from the first
	// one, so the most selective goes first.
	Filters []AuditFilter
	// Since and Until bound Time: Since <= Time < Until.
	Since, Until time.Time
	// After and Before bound Seq: After < Seq < Before. They page through
	// the results: the next page of an ascending search is After the last
	// Seq of this one, of a descending search Before it.
	After, Before int64
	Descending    bool
	Limit         int
}

// AuditFilter matches a record that has an Index entry with Name and any
// of Values.
type AuditFilter struct {
	Name   string
	Values []string
}

// Validate returns an *Error of Kind Invalid if a filter of q has no name
// or no values.
func (q *AuditQuery) Validate() error {
	for _, f := range q.Filters {
		if f.Name == "" {
			return Errorf(Invalid, "audit query: a filter without a name")
		}
		if len(f.Values) == 0 {
			return Errorf(Invalid, "audit query: filter %q has no values", f.Name)
		}
	}
	return nil
}

// AuditAppender is an optional interface of an AuditLog that several
// processes append to (several servers on one PostgreSQL database). It
// hands the writer the last record under the log's append lock, so that a
// writer never loses a race and need not chain its records again: with
// AppendAudit alone, a busy server can starve another, whose every attempt
// finds a newer last record than the one it chained from.
type AuditAppender interface {
	// AppendAuditAfter calls link with the last record (nil on an empty
	// log) inside one transaction that holds the log's append lock, and
	// stores the records link returns as AppendAudit does: durably, and
	// only if they follow that record (else Conflict). If link fails,
	// nothing is stored and its error is returned. link may be called
	// more than once (engines retry transactions that lose a deadlock), so
	// it must have no effect but its result.
	AppendAuditAfter(ctx context.Context, link func(last *AuditRecord) ([]AuditRecord, error)) error
}
