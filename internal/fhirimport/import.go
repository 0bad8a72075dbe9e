package fhirimport

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"kartehub/internal/karte"
	"kartehub/internal/record"
)

// Sink is where imported bundles go: a *record.Service in this process, or
// a Remote server.
type Sink interface {
	Transaction(ctx context.Context, b record.Bundle) ([]record.Result, error)
	Batch(ctx context.Context, b record.Bundle) []record.Result
}

// Importer loads files into a Sink.
type Importer struct {
	Sink Sink
	// Progress receives a progress display; nil for none. Interactive
	// redraws one line; otherwise a line is printed every few seconds.
	Progress    io.Writer
	Interactive bool
	// Workers is how many units are prepared and written at once (default:
	// GOMAXPROCS+1, so that parsing overlaps the writes).
	Workers int
	// Chunk is how many loose resources (NDJSON, collections) go into one
	// transaction (default 500).
	Chunk int
}

// Failure is one entry, line or file that did not load.
type Failure struct {
	File  string
	Where string // "entry 12", "line 40", or "" for the whole file
	Err   error
}

func (f Failure) String() string {
	if f.Where == "" {
		return fmt.Sprintf("%s: %v", f.File, f.Err)
	}
	return fmt.Sprintf("%s: %s: %v", f.File, f.Where, f.Err)
}

// Summary reports an import.
type Summary struct {
	Files     int
	Resources int // entries written or found unchanged
	Failures  []Failure
	Elapsed   time.Duration
}

// Rate is the resources loaded per second.
func (s *Summary) Rate() float64 { return float64(s.Resources) / s.Elapsed.Seconds() }

func (s *Summary) String() string {
	return fmt.Sprintf("imported %d resources from %d files in %.1f s (%.0f resources/s), %d failed",
		s.Resources, s.Files, s.Elapsed.Seconds(), s.Rate(), len(s.Failures))
}

// Run imports the files found under paths. It returns an error only if it
// could not run at all; entries that fail are listed in the Summary.
func (im *Importer) Run(ctx context.Context, paths []string) (*Summary, error) {
	start := time.Now()
	files, err := expand(paths)
	if err != nil {
		return nil, err
	}
	workers := im.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0) + 1
	}
	chunk := im.Chunk
	if chunk <= 0 {
		chunk = 500
	}
	known, total, failures := scan(ctx, files, workers, chunk)
	sum := &Summary{Files: len(files), Failures: failures}
	var done atomic.Int64
	stop := im.showProgress(&done, total, start)
	load(ctx, files, workers, func(file string) {
		fs, n := im.loadFile(ctx, file, chunk, known)
		done.Add(int64(n))
		sum.add(fs, n)
	})
	stop()
	sum.Elapsed = time.Since(start)
	return sum, ctx.Err()
}

var summaryMu sync.Mutex

func (s *Summary) add(fs []Failure, n int) {
	summaryMu.Lock()
	defer summaryMu.Unlock()
	s.Resources += n
	s.Failures = append(s.Failures, fs...)
}

// scan reads every file once before loading, to learn what each urn:uuid
// fullUrl will stand for and how many resources there are. Files that
// cannot be read are reported here and skipped later.
func scan(ctx context.Context, files []string, workers, chunk int) (map[string]string, int, []Failure) {
	known := map[string]string{}
	total := 0
	var failures []Failure
	var mu sync.Mutex
	load(ctx, files, workers, func(file string) {
		units, errs := readFile(file, chunk)
		refs := refsOf(units)
		mu.Lock()
		defer mu.Unlock()
		for k, v := range refs {
			known[k] = v
		}
		for _, u := range units {
			total += len(u.bundle.Entries)
		}
		for _, e := range errs {
			failures = append(failures, Failure{file, e.where, e.err})
		}
	})
	return known, total, failures
}

func readFile(file string, chunk int) ([]unit, []fileError) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, []fileError{{"", err}}
	}
	return parseFile(data, isNDJSON(file), chunk)
}

// load runs fn on each file with a bounded number of workers.
func load(ctx context.Context, files []string, workers int, fn func(string)) {
	next := make(chan string)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range next {
				fn(f)
			}
		}()
	}
	for _, f := range files {
		if ctx.Err() != nil {
			break
		}
		next <- f
	}
	close(next)
	wg.Wait()
}

// loadFile writes the units of one file and returns its failures and the
// number of resources loaded.
func (im *Importer) loadFile(ctx context.Context, file string, chunk int, known map[string]string) ([]Failure, int) {
	units, errs := readFile(file, chunk)
	if len(errs) > 0 && len(units) == 0 {
		return nil, 0 // reported by scan
	}
	var failures []Failure
	loaded := 0
	for _, u := range units {
		u.bundle.KnownRefs = known
		fs, n := im.loadUnit(ctx, file, u)
		failures = append(failures, fs...)
		loaded += n
	}
	return failures, loaded
}

func (im *Importer) loadUnit(ctx context.Context, file string, u unit) ([]Failure, int) {
	if u.kind != batchUnit {
		_, err := im.Sink.Transaction(ctx, u.bundle)
		if err == nil {
			return nil, len(u.bundle.Entries)
		}
		if u.kind == transactionUnit || len(u.where) == 1 {
			return []Failure{{file, locate(err, u.where), err}}, 0
		}
		// A chunk of loose resources failed: load the good ones one by one
		// and report the others each with its line or entry.
	}
	results := im.Sink.Batch(ctx, u.bundle)
	var failures []Failure
	loaded := 0
	for i, r := range results {
		if r.Err != nil {
			failures = append(failures, Failure{file, u.where[i], r.Err})
			continue
		}
		loaded++
	}
	return failures, loaded
}

// locate names the entry that a transaction error points at, if any.
func locate(err error, where []string) string {
	msg := err.Error()
	if i := strings.Index(msg, "Bundle.entry["); i >= 0 {
		var n int
		if _, serr := fmt.Sscanf(msg[i:], "Bundle.entry[%d]", &n); serr == nil && n < len(where) {
			return where[n] + " (transaction rolled back)"
		}
	}
	if k := karte.KindOf(err); k == karte.Internal {
		return ""
	}
	return "transaction rolled back"
}
