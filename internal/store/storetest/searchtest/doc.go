// Package searchtest is the conformance suite of karte.Searcher for the SQL
// engines. Each engine runs it from a one-line test, so that SQLite and
// PostgreSQL give the same answers to the same searches: every subtest
// writes resources with hand-made karte.Index values, as package search
// would extract them, and checks what Search returns.
//
// Cases where the engines are known to disagree are checked with known,
// which logs rather than fails. Like package storetest, the suite never
// reads a clock.
package searchtest
