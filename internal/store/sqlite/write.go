package sqlite

import (
	"context"
	"fmt"

	"kartehub/internal/karte"
)

// writeRequest is one call of Write waiting for the writer goroutine.
type writeRequest struct {
	ctx    context.Context
	fn     func(karte.Tx) error
	result chan error
}

// Write implements karte.Store. It queues fn for the writer goroutine and
// waits until the commit that includes it is durable.
func (s *Store) Write(ctx context.Context, fn func(karte.Tx) error) error {
	req := &writeRequest{ctx: ctx, fn: fn, result: make(chan error, 1)}
	select {
	case s.writes <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.stop:
		return errClosed
	}
	// Once queued, the request is answered: waiting for it even if ctx
	// ends keeps the caller from reporting failure for a write that then
	// commits. Only a writer that has stopped (Close) may leave it
	// unanswered, if it was queued after the last drain: it never ran.
	select {
	case err := <-req.result:
		return err
	case <-s.stopped:
		select {
		case err := <-req.result:
			return err
		default:
			return errClosed
		}
	}
}

// writeLoop owns the writer connection. It takes the queued requests in
// batches and commits each batch once.
func (s *Store) writeLoop(w *conn) {
	defer close(s.stopped)
	defer w.close()
	batch := make([]*writeRequest, 0, maxBatch)
	for {
		select {
		case req := <-s.writes:
			batch = append(batch[:0], req)
		case <-s.stop:
			s.drain(w, batch)
			return
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case req := <-s.writes:
				batch = append(batch, req)
			default:
				break fill
			}
		}
		commitBatch(w, batch)
	}
}

// drain commits what was queued before Close, then fails what comes later.
func (s *Store) drain(w *conn, batch []*writeRequest) {
	for {
		batch = batch[:0]
		for len(batch) < maxBatch {
			select {
			case req := <-s.writes:
				batch = append(batch, req)
				continue
			default:
			}
			break
		}
		if len(batch) == 0 {
			return
		}
		commitBatch(w, batch)
	}
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
