// Package postgres is kartehub's PostgreSQL storage engine: a karte.Store
// over a pgx connection pool, for deployments that run several kartehub
// servers on one database or want PostgreSQL's backups and replication.
//
// Every version of every resource is a row of resource_version, numbered by
// an identity column that is karte.Resource.Seq. resource points at the
// current version of each resource, and resource_identifier holds the
// identifiers of current, not deleted versions. The SQLite engine keeps the
// same schema, so the two behave alike in the conformance suite
// (kartehub/internal/store/storetest).
//
// Concurrency: each Write is one READ COMMITTED transaction. Tx.Current and
// Tx.Put lock the resource's row of resource (SELECT ... FOR UPDATE), so
// writers of one resource queue up; Tx.Lock takes a transaction-scoped
// advisory lock. A Write that loses a race (serialisation failure, deadlock,
// or two creators of the same new id) is run again from the start.
//
// Seq is taken from an identity column when a version is inserted, so it
// follows the order of inserts, not of commits: with concurrent writers a
// version may become visible after one with a higher Seq. History paging is
// unaffected (a page shows what was committed when it was read, and its
// cursor only moves down), but Seq is no change-feed position in this engine.
//
// Durability: Write returns after COMMIT, and with PostgreSQL's default
// synchronous_commit=on, COMMIT returns only once the commit record is
// flushed to the write-ahead log on disk (and, with synchronous standbys
// configured, on them too). That is the durability karte.Store promises;
// a server configured with synchronous_commit=off would break it, and this
// package leaves that setting to the administrator rather than overriding it.
package postgres
