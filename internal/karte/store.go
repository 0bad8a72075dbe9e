package karte

import (
	"context"
	"time"
)

// Store keeps every version of every resource. Implementations are safe for
// concurrent use. A write acknowledged by a nil error from Write is durable:
// it survives a crash of the process or the machine.
type Store interface {
	// Read returns the current version of a resource. It returns an *Error
	// of Kind NotFound if the resource never existed, and the deleted
	// version together with an *Error of Kind Gone if it is deleted.
	Read(ctx context.Context, typ, id string) (*Resource, error)

	// VRead returns one version. NotFound if there is no such version; a
	// version that records a deletion is returned with an *Error of Kind Gone.
	VRead(ctx context.Context, typ, id string, version int64) (*Resource, error)

	// History returns versions newest first, as selected by q.
	History(ctx context.Context, q HistoryQuery) (*HistoryPage, error)

	// Write runs fn in one atomic write transaction and commits it durably.
	// If fn returns an error nothing it wrote is kept, and Write returns
	// that error. fn may be run more than once (engines retry on
	// serialisation conflicts, and batch concurrent writers into one
	// commit), so it must have no effect outside tx.
	Write(ctx context.Context, fn func(tx Tx) error) error

	// Close releases the store; writes in flight are finished first.
	Close() error
}

// Tx is the view of the store inside a write transaction.
type Tx interface {
	// Current returns the current version of a resource, deleted or not
	// (Deleted is set), or an *Error of Kind NotFound. Engines with
	// concurrent writers lock the resource until the transaction ends.
	Current(ctx context.Context, typ, id string) (*Resource, error)

	// VRead returns one version, as Store.VRead does.
	VRead(ctx context.Context, typ, id string, version int64) (*Resource, error)

	// Put stores r as a new version and makes it current, with ix as its
	// index (ignored for deletions). r.VersionID must be one more than the
	// current version, or 1 for a new resource; otherwise Put returns an
	// *Error of Kind Conflict. Put sets r.Seq.
	Put(ctx context.Context, r *Resource, ix *Index) error

	// FindByIdentifier returns the ids of the current, not deleted
	// resources of type typ that carry the identifier. An empty system
	// matches any system.
	FindByIdentifier(ctx context.Context, typ string, ident Identifier) ([]string, error)

	// Lock serialises the transactions that lock the same key, until they
	// end. Conditional creates lock their criteria so that concurrent
	// requests cannot both find nothing and both create.
	Lock(ctx context.Context, key string) error
}

// HistoryQuery selects versions for a history interaction. An empty Type
// asks for the whole system, an empty ID for the whole type.
type HistoryQuery struct {
	Type, ID string
	// Since, if not zero, keeps versions written at or after it.
	Since time.Time
	// AtStart and AtEnd, if not zero, keep the versions that were current
	// at some moment in [AtStart, AtEnd).
	AtStart, AtEnd time.Time
	// Before, if not zero, keeps versions with Seq < Before: the cursor of
	// the next page.
	Before int64
	// Count is the page size; zero means the engine's default.
	Count int
}

// HistoryPage is one page of history, newest first.
type HistoryPage struct {
	Versions []*Resource
	// Total is the number of versions the query selects over all pages.
	Total int
	// Next is the Before cursor of the following page, or zero at the end.
	Next int64
}

// Analyzer is an optional interface of a Store whose engine plans queries
// from statistics that a bulk load leaves stale (PostgreSQL, until
// autovacuum gets to it). Analyze brings them up to date; the import
// command calls it after loading.
type Analyzer interface {
	Analyze(ctx context.Context) error
}
