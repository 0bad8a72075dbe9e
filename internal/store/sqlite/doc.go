// Package sqlite is kartehub's embedded storage engine: a karte.Store on one
// SQLite database file, with no server to run and no cgo.
//
// Durability: the database runs in WAL mode with synchronous=FULL, so every
// commit is fsynced before Write returns. Throughput comes from group commit:
// the writes that arrive together are committed as one SQLite transaction,
// each inside its own savepoint so that one failing write does not take the
// others down, by the caller at the head of the queue, on the one write
// connection. The connections open the file through a VFS of this package
// (wal.go) that writes the frames of a commit to the WAL in one system
// call rather than two for each page.
package sqlite
