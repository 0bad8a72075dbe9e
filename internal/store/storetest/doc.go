// Package storetest is the conformance suite of karte.Store. Every storage
// engine runs it from a one-line test, so that the engines cannot drift apart
// in what the contracts of package karte promise: each clause of those doc
// comments is checked by a named subtest here.
//
// The suite never reads a clock: it sets LastUpdated itself, as the callers of
// a Store do, so results are the same on every run.
package storetest
