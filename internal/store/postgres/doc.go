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
// Search: the view live_resource shows the rows of resource that are not
// deleted, with rid (given when a resource is first written, or written
// again after its deletion), rkey and last_updated, and the tables sp_string, sp_token,
// sp_reference, sp_date, sp_number, sp_uri and sp_composite hold the search
// index of each resource's current version by rid, as in SQLite, with text
// in the "C" collation so that it compares byte for byte as SQLite's does.
// Put replaces a resource's index rows in the same round trip as the
// version, under the row lock that queues the resource's writers. Search
// runs the engine-neutral SQL of kartehub/internal/store/sqlsearch in one
// read-only REPEATABLE READ transaction (kartehub/internal/store/storetest/
// searchtest checks that both engines answer alike). Reindex rebuilds one
// resource's index when search parameters change, and the job table keeps
// the progress of those reindex jobs (karte.Reindexer, karte.JobStore).
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
