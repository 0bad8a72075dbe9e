// Package bench measures kartehub the way its users load it: bulk import,
// single-resource reads over HTTP from concurrent clients, and transaction
// Bundles over HTTP, plus the bare-SQLite baseline that shows how close the
// import comes to the limit of the storage engine. "kartehub bench" prints
// the figures.
package bench
