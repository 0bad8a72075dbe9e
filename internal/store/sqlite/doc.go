// Package sqlite is kartehub's embedded storage engine: a karte.Store on
// two SQLite database files, the record and beside it the audit trail
// (AuditPath), with no server to run and no cgo.
//
// Durability: the databases run in WAL mode with synchronous=FULL, so every
// commit is fsynced before Write returns. Throughput comes from group commit:
// the writes that arrive together are committed as one SQLite transaction,
// each inside its own savepoint so that one failing write does not take the
// others down, by the caller at the head of the queue, on the database's one
// write connection. The connections open the files through a VFS of this
// package (wal.go) that writes the frames of a commit to the WAL in one
// system call rather than two for each page.
//
// The audit trail has a file of its own because a commit to a file empties
// the page cache of every connection that reads it: the trail commits many
// times a second under load, and the record's readers would otherwise read
// their pages from the file again after each of those commits.
package sqlite
