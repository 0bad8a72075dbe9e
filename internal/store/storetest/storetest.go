package storetest

import (
	"testing"

	"kartehub/internal/karte"
)

// opener opens a Store on one prepared database; called again after Close,
// it reopens the same database.
type opener = func() (karte.Store, error)

// Run runs the conformance suite, each subtest on a fresh database.
//
// newStore prepares a fresh, empty database, registers its removal with
// t.Cleanup, and returns open, which opens a Store on that database. Calling
// open again after Close must reopen the same database: the durability tests
// depend on it.
func Run(t *testing.T, newStore func(t *testing.T) (open func() (karte.Store, error))) {
	for _, tc := range suite {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newStore(t)) })
	}
}

// suite lists the subtests, grouped as the contracts in package karte are.
var suite = []struct {
	name string
	run  func(t *testing.T, open opener)
}{
	// Versions: Put, Read, VRead.
	{"PutRead", testPutRead},
	{"BodyByteForByte", testBodyByteForByte},
	{"LastUpdatedMillis", testLastUpdatedMillis},
	{"Versions", testVersions},
	{"SeqGrows", testSeqGrows},
	{"ConflictSkippingAhead", testConflictSkippingAhead},
	{"ConflictReusingVersion", testConflictReusingVersion},
	{"Delete", testDelete},
	{"PutAfterDelete", testPutAfterDelete},
	{"NotFound", testNotFound},
	{"NilIndex", testNilIndex},
	{"Author", testAuthor},

	// Write: atomicity and the view inside a transaction.
	{"FnErrorKeepsNothing", testFnErrorKeepsNothing},
	{"FnErrorKindReturned", testFnErrorKindReturned},
	{"AtomicAcrossResources", testAtomicAcrossResources},
	{"TxSeesOwnWrites", testTxSeesOwnWrites},

	// FindByIdentifier.
	{"FindByIdentifier", testFindByIdentifier},
	{"FindByIdentifierCurrentOnly", testFindByIdentifierCurrentOnly},

	// History.
	{"HistoryLevels", testHistoryLevels},
	{"HistoryEmpty", testHistoryEmpty},
	{"HistorySince", testHistorySince},
	{"HistoryAt", testHistoryAt},
	{"HistoryPaging", testHistoryPaging},
	{"HistoryPagingStable", testHistoryPagingStable},
	{"HistoryDefaultCount", testHistoryDefaultCount},

	// Durability and Close.
	{"Reopen", testReopen},
	{"CloseFinishesWrites", testCloseFinishesWrites},

	// Concurrency.
	{"ConcurrentConditionalCreate", testConcurrentConditionalCreate},
	{"ConcurrentUpdates", testConcurrentUpdates},
	{"ConcurrentCreatesOfOneID", testConcurrentCreatesOfOneID},
	{"ReadsDuringWrites", testReadsDuringWrites},
}
