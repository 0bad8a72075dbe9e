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

// checkpointing is how a database's WAL is copied back into its file.
type checkpointing int

const (
	// background checkpoints from a connection of its own, between two
	// commits of the writer (checkpointLoop): the record's way. Its
	// commits change many pages, and a writer copying them back itself
	// would hold every queued write for as long.
	background checkpointing = iota
	// inline lets the writer checkpoint at the end of a commit once the
	// WAL holds 1000 pages (SQLite's default): the audit trail's way. Its
	// commits change few pages, so the copy is short, and done by the
	// writer it always completes, so the next commit starts the WAL
	// again from its beginning (see background).
	inline
)

// schema is the migrations of one kind of database file, and what must run
// before some of them (by version) on the write connection.
type schema struct {
	files  fs.FS // NNNN_name.sql at its root
	before map[int]func(*conn) error
}

// openDatabase opens (creating if needed) the database file at path,
// brings it to sch, and opens readers readers.
func openDatabase(path string, sch schema, readers int, cp checkpointing) (_ *database, err error) {
	w, err := openConn(path)
	if err != nil {
		return nil, err
	}
	d := &database{
		readers:      make(chan *conn, readers),
		writer:       writer{conn: w, drained: make(chan struct{})},
		stop:         make(chan struct{}),
		stopped:      make(chan struct{}),
		checkpointed: make(chan struct{}),
	}
	defer func() {
		if err != nil {
			d.closeReaders()
			w.close()
		}
	}()
	if err := migrate(w, sch); err != nil {
		return nil, err
	}
	for range readers {
		r, err := openConn(path)
		if err != nil {
			return nil, err
		}
		d.readers <- r
	}
	if cp == background {
		if err := w.db.Exec("PRAGMA wal_autocheckpoint=0"); err != nil {
			return nil, err
		}
	}
	c, err := openConn(path)
	if err != nil {
		return nil, err
	}
	if err := c.db.Exec(checkpointBusy); err != nil {
		c.close()
		return nil, err
	}
	go d.checkpointLoop(c, cp)
	return d, nil
}

// checkpointInterval is how often the WAL is copied back into the database
// in the background.
const checkpointInterval = 250 * time.Millisecond

// checkpointBusy bounds how long the background checkpointer waits for the
// writer's lock and for readers, and so how long it may hold up writes
// once it has the lock.
const checkpointBusy = "PRAGMA busy_timeout=50"

// checkpointLoop checkpoints the WAL in the background until the database
// closes, if cp says so, and truncates it on the way out.
//
// Each checkpoint is a RESTART: between two commits, it takes the
// writer's lock, copies the whole WAL back and waits for readers to leave
// it, so that the next commit writes the WAL from its beginning again. A
// PASSIVE checkpoint never catches up under a steady stream of commits:
// the WAL then grows for as long as the load lasts, and each commit
// appends to the file, which costs its fsync a change of the file's size
// (transactions at 8 clients: 885–951/s so, 1,276–1,335/s with RESTART).
// Readers that stay longer than checkpointBusy make it fall back to what
// PASSIVE does; then it lets a few rounds pass as PASSIVE, so that a long
// read does not hold writes up again and again.
func (d *database) checkpointLoop(c *conn, cp checkpointing) {
	defer close(d.checkpointed)
	defer c.close()
	var tick <-chan time.Time // nil, and so never, for an inline database
	if cp == background {
		t := time.NewTicker(checkpointInterval)
		defer t.Stop()
		tick = t.C
	}
	passive := 0 // rounds left to checkpoint passively
	for {
		select {
		case <-tick:
			if passive > 0 {
				passive--
				c.db.Exec("PRAGMA wal_checkpoint(PASSIVE)")
			} else if !d.restart(c) {
				passive = 4
			}
		case <-d.stopped:
			c.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
			return
		}
	}
}

// restart runs a RESTART checkpoint between two commits of the writer,
// and reports whether it completed.
func (d *database) restart(c *conn) bool {
	d.writer.committing.Lock()
	defer d.writer.committing.Unlock()
	st, err := c.query("PRAGMA wal_checkpoint(RESTART)")
	if err != nil {
		return false
	}
	ok := st.Step() && st.ColumnInt(0) == 0
	return done(st) == nil && ok
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
