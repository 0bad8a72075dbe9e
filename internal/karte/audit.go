package karte

import (
	"context"
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
	// AppendAudit stores recs in one durable transaction: when it returns
	// nil, all of them survive a crash; otherwise none is stored. recs must
	// be numbered consecutively, starting at the next sequence number (one
	// more than the last record's, or 1 on an empty log); otherwise it
	// returns an *Error of Kind Conflict and stores nothing, so that a writer
	// that lost a race with another can reread the last record and retry.
	// An empty recs does nothing.
	AppendAudit(ctx context.Context, recs []AuditRecord) error

	// AuditRecords returns up to n records with Seq > after, in Seq order.
	// Fewer than n means the end of the log.
	AuditRecords(ctx context.Context, after int64, n int) ([]AuditRecord, error)

	// LastAudit returns the record with the highest Seq, or nil if the log
	// is empty.
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
