package sqlite

import (
	"context"
	"io/fs"
	"sync"
	"time"

	"kartehub/internal/karte"
)

// database is one SQLite file as the store uses it: one write connection
// with its queue of writes (write.go), a pool of readers, and a
// checkpointer of its own.
type database struct {
	readers chan *conn
	writer  writer
	// stop is closed when close begins, stopped once the writer has
	// answered its last write.
	stop    chan struct{}
	stopped chan struct{}
	// checkpointed is closed when the checkpointer has finished.
	checkpointed chan struct{}
	once         sync.Once
}

// schema is the migrations of one kind of database file, and what must run
// before some of them (by version) on the write connection.
type schema struct {
	files  fs.FS // NNNN_name.sql at its root
	before map[int]func(*conn) error
}

// openDatabase opens (creating if needed) the database file at path,
// brings it to sch, and opens readers readers.
func openDatabase(path string, sch schema, readers int) (*database, error) {
	w, err := openConn(path)
	if err != nil {
		return nil, err
	}
	if err := migrate(w, sch); err != nil {
		w.close()
		return nil, err
	}
	d := &database{
		readers:      make(chan *conn, readers),
		writer:       writer{conn: w, drained: make(chan struct{})},
		stop:         make(chan struct{}),
		stopped:      make(chan struct{}),
		checkpointed: make(chan struct{}),
	}
	for range readers {
		r, err := openConn(path)
		if err != nil {
			d.closeReaders()
			w.close()
			return nil, err
		}
		d.readers <- r
	}
	// Checkpoints run on a connection of their own, so that copying the WAL
	// back into the database never holds up the writer.
	if err := w.db.Exec("PRAGMA wal_autocheckpoint=0"); err != nil {
		d.closeReaders()
		w.close()
		return nil, err
	}
	cp, err := openConn(path)
	if err != nil {
		d.closeReaders()
		w.close()
		return nil, err
	}
	go d.checkpointLoop(cp)
	return d, nil
}

// checkpointInterval is how often the WAL is copied back into the database.
const checkpointInterval = 250 * time.Millisecond

// checkpointLoop checkpoints the WAL until the database closes, and
// truncates it on the way out.
func (d *database) checkpointLoop(c *conn) {
	defer close(d.checkpointed)
	defer c.close()
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			c.db.Exec("PRAGMA wal_checkpoint(PASSIVE)")
		case <-d.stopped:
			c.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
			return
		}
	}
}

// withReader runs fn on a pooled reader connection.
func (d *database) withReader(ctx context.Context, fn func(*conn) error) error {
	select {
	case c := <-d.readers:
		defer func() { d.readers <- c }()
		return fn(c)
	case <-ctx.Done():
		return ctx.Err()
	case <-d.stop:
		return errClosed
	}
}

var errClosed = &karte.Error{Kind: karte.Unavailable, Message: "store is closed"}

// close stops the writer after the writes already queued, then closes
// every connection.
func (d *database) close() {
	d.once.Do(func() {
		close(d.stop)
		d.writer.close()
		close(d.stopped)
		<-d.checkpointed
		d.closeReaders()
	})
}

func (d *database) closeReaders() {
	for {
		select {
		case c := <-d.readers:
			c.close()
		default:
			return
		}
	}
}
