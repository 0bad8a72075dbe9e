package sqlite

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"kartehub/internal/karte"
)

// writeRequest is one call of Write waiting for its commit.
type writeRequest struct {
	ctx    context.Context
	fn     func(karte.Tx) error
	result chan error
	// lead tells the caller that it now commits for the queue.
	lead chan struct{}
}

// writer is a database's one write connection and the queue of writes
// waiting for it. Writes queued together share one commit, and so one
// fsync. The caller at the head of the queue commits for everyone queued
// behind it, in its own goroutine: a dedicated writer goroutine would have
// to be woken, and on two busy cores it waits behind every runnable request
// for its turn, once to start and once after each blocking system call.
type writer struct {
	conn *conn
	// committing is held around each commit. The background checkpointer
	// takes it to get the database's write lock between two commits: it
	// would seldom find the lock free on its own under steady writes.
	committing sync.Mutex

	mu      sync.Mutex
	queue   []*writeRequest
	leading bool // a caller is committing; it passes the lead on or clears this
	closed  bool
	// drained is closed by the last leader after Close: every write queued
	// before Close has been answered.
	drained chan struct{}
}

// Write implements karte.Store. It queues fn and returns once the commit
// that includes it is durable.
func (s *Store) Write(ctx context.Context, fn func(karte.Tx) error) error {
	return s.db.write(ctx, fn)
}

// write queues fn for the database's writer and returns once the commit
// that includes it is durable.
func (d *database) write(ctx context.Context, fn func(karte.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w := &d.writer
	req := &writeRequest{ctx: ctx, fn: fn, result: make(chan error, 1), lead: make(chan struct{}, 1)}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return errClosed
	}
	// The queue is empty whenever nobody leads, so a caller that takes
	// the lead heads the queue and its request is in the batch it commits.
	w.queue = append(w.queue, req)
	lead := !w.leading
	w.leading = true
	w.mu.Unlock()
	// Once queued, the request is answered even if ctx ends: giving up
	// here would report failure for a write that may then commit.
	if !lead {
		select {
		case err := <-req.result:
			return err
		case <-req.lead:
		}
	}
	w.commitHead()
	return <-req.result
}

// commitHead commits the batch at the head of the queue, then passes the
// lead to the first write still queued, or gives it up. Passing it on,
// rather than going on committing, bounds how long one caller waits.
func (w *writer) commitHead() {
	w.mu.Lock()
	n := min(len(w.queue), maxBatch)
	batch := slices.Clone(w.queue[:n])
	w.queue = slices.Delete(w.queue, 0, n)
	w.mu.Unlock()

	w.committing.Lock()
	commitBatch(w.conn, batch)
	w.committing.Unlock()

	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) > 0 {
		w.queue[0].lead <- struct{}{}
		return
	}
	w.leading = false
	if w.closed {
		close(w.drained)
	}
}

// close refuses further writes, waits until those already queued are
// answered, and closes the connection.
func (w *writer) close() {
	w.mu.Lock()
	w.closed = true
	busy := w.leading
	w.mu.Unlock()
	if busy {
		<-w.drained
	}
	w.conn.close()
}

// commitBatch runs every request of the batch in its own savepoint of one
// transaction, commits, and answers each request.
func commitBatch(w *conn, batch []*writeRequest) {
	errs := make([]error, len(batch))
	err := w.db.Exec("BEGIN IMMEDIATE")
	switch {
	case err != nil:
	case len(batch) == 1:
		// Alone in its transaction, a write needs no savepoint (nor the
		// statement journal that one costs): rolling back undoes it.
		if errs[0] = run(w, batch[0]); errs[0] != nil {
			err = w.db.Exec("ROLLBACK")
			break
		}
		err = commit(w)
	default:
		for i, req := range batch {
			errs[i] = runInSavepoint(w, req)
		}
		err = commit(w)
	}
	for i, req := range batch {
		if err != nil && errs[i] == nil {
			errs[i] = fmt.Errorf("commit: %w", err)
		}
		req.result <- errs[i]
	}
}

func commit(w *conn) error {
	err := w.db.Exec("COMMIT")
	if err != nil {
		w.db.Exec("ROLLBACK")
	}
	return err
}

// run runs one request's function, turning a panic into its error.
func run(w *conn, req *writeRequest) (err error) {
	if err := req.ctx.Err(); err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("write panicked: %v", p)
		}
	}()
	return req.fn(&tx{c: w})
}

func runInSavepoint(w *conn, req *writeRequest) (err error) {
	if err := w.db.Exec("SAVEPOINT w"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			if rerr := w.db.Exec("ROLLBACK TO w"); rerr != nil {
				err = fmt.Errorf("%w (and rollback failed: %v)", err, rerr)
			}
		}
		w.db.Exec("RELEASE w")
	}()
	return run(w, req)
}
