package fhirimport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
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
		return fmt.Sprintf("%s: %s", f.File, describe(f.Err))
	}
	return fmt.Sprintf("%s: %s: %s", f.File, f.Where, describe(f.Err))
}

// bundleEntry matches the places that a sink's errors give in the Bundle it
// was sent: "Bundle.entry[3]: ", "Bundle.entry[3].resource.name[0]".
var bundleEntry = regexp.MustCompile(`Bundle\.entry\[\d+\](\.resource)?(\.|: )?`)

// describe renders err for a report that names its file and entry or line
// already. The entry indexes of the Bundle written are dropped: they count
// the entries of one chunk, not those of the file. The element that the
// first issue points at is added when the message does not name it.
func describe(err error) string {
	msg := err.Error()
	var ke *karte.Error
	if errors.As(err, &ke) && len(ke.Issues) > 0 {
		if at := ke.Issues[0].Expression; at != "" && !strings.Contains(msg, at) {
			if at = bundleEntry.ReplaceAllString(at, ""); at != "" {
				msg += " (at " + at + ")"
			}
		}
	}
	return bundleEntry.ReplaceAllString(msg, "")
}

// Summary reports an import.
type Summary struct {
	Files     int
	Resources int // entries written or found unchanged
	// Duplicates counts entries skipped because an earlier file gives the
	// same resource.
	Duplicates int
	Failures   []Failure
	Elapsed    time.Duration
}

// Rate is the resources loaded per second.
func (s *Summary) Rate() float64 { return float64(s.Resources) / s.Elapsed.Seconds() }

func (s *Summary) String() string {
	dups := ""
	if s.Duplicates > 0 {
		dups = fmt.Sprintf(", %d repeated in later files skipped", s.Duplicates)
	}
	return fmt.Sprintf("imported %d resources from %d files in %.1f s (%.0f resources/s), %d failed%s",
		s.Resources, s.Files, s.Elapsed.Seconds(), s.Rate(), len(s.Failures), dups)
}

// Run imports the files found under paths. It returns an error only if it
// could not run at all; entries that fail are listed in the Summary.
//
// Files are read in parallel, then released to the loaders in the order
// given: a file loads as soon as it and every file before it have been
// read and the urn:uuid references it makes to other files are known, so
// reading and writing overlap. A resource given in several files (Synthea
// repeats each organisation and practitioner in every patient's bundle) is
// written from the first file that gives it; later copies are skipped and
// counted, so that which copy is kept never depends on timing and a second
// run changes nothing.
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
	sum := &Summary{Files: len(files)}
	var total, done atomic.Int64
	stop := im.showProgress(&done, &total, start)
	scans := make(chan *scanned)
	jobs := make(chan *job)
	go scanFiles(ctx, files, workers, chunk, fitsBudget(files), scans)
	var mu sync.Mutex // guards sum
	go func() {
		p := newPlanner(len(files))
		p.run(scans, jobs, &total)
		mu.Lock()
		sum.Failures = append(sum.Failures, p.failures...)
		sum.Duplicates = p.duplicates
		mu.Unlock()
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				fs, n, tried := im.loadJob(ctx, j, chunk)
				done.Add(int64(tried))
				mu.Lock()
				sum.Resources += n
				sum.Failures = append(sum.Failures, fs...)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	stop()
	sum.Elapsed = time.Since(start)
	return sum, ctx.Err()
}

// keepBudget is how much input may be kept parsed between reading and
// loading, so that small and medium imports parse each file once; larger
// ones parse twice rather than hold everything in memory.
const keepBudget = 512 << 20

func fitsBudget(files []string) bool {
	var size int64
	for _, f := range files {
		if info, err := os.Stat(f); err == nil {
			size += info.Size()
		}
	}
	return size <= keepBudget
}

// loadJob writes the units of one file and returns its failures, the
// number of resources loaded, and the number tried (loaded or failed), which
// is what the progress display counts against the total found by reading.
func (im *Importer) loadJob(ctx context.Context, j *job, chunk int) (failures []Failure, loaded, tried int) {
	units := j.units
	if units == nil {
		units, _ = readFile(j.file, chunk) // read errors were reported when scanned
	}
	for _, u := range units {
		u = u.without(j.skip, j.known)
		if len(u.bundle.Entries) == 0 {
			continue
		}
		u.bundle.KnownRefs = j.known
		fs, n := im.loadUnit(ctx, j.file, u)
		failures = append(failures, fs...)
		loaded += n
		tried += len(u.bundle.Entries)
	}
	return failures, loaded, tried
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
