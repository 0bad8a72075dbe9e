package fhirimport

import (
	"context"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"kartehub/internal/fhir"
)

// scanned is what reading one file tells the planner.
type scanned struct {
	index   int
	file    string
	units   []unit            // nil when not kept for the load
	keys    []string          // "Type/id" that each entry writes, if fixed
	defines map[string]string // its urn: fullUrls and the "Type/id" they stand for
	uses    []string          // urn: references it makes to other files
	entries int
	errs    []fileError
}

// job is a file released for loading.
type job struct {
	file  string
	units []unit            // nil: read the file again
	known map[string]string // the references to other files it needs
	skip  map[string]bool   // "Type/id" that an earlier file writes
}

func readFile(file string, chunk int) ([]unit, []fileError) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, []fileError{{"", err}}
	}
	return parseFile(data, isNDJSON(file), chunk)
}

// scanFiles reads files with a bounded number of workers and sends what
// each holds, in whatever order reading finishes. It closes out at the end.
func scanFiles(ctx context.Context, files []string, workers, chunk int, keep bool, out chan<- *scanned) {
	defer close(out)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out <- scanFile(i, files[i], chunk, keep)
			}
		}()
	}
	for i := range files {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
}

func scanFile(i int, file string, chunk int, keep bool) *scanned {
	units, errs := readFile(file, chunk)
	s := &scanned{index: i, file: file, errs: errs, defines: map[string]string{}}
	for _, u := range units {
		s.entries += len(u.bundle.Entries)
		for _, e := range u.bundle.Entries {
			s.keys = append(s.keys, entryKey(e.Method, e.URL))
			if strings.HasPrefix(e.FullURL, "urn:") && e.Method == "PUT" && !strings.Contains(e.URL, "?") {
				s.defines[e.FullURL] = e.URL
			}
		}
	}
	seen := map[string]bool{}
	for _, u := range units {
		for _, e := range u.bundle.Entries {
			if e.Resource == nil {
				continue
			}
			fhir.WalkReferences(e.Resource, func(_ *fhir.Object, _ int, ref string) {
				if strings.HasPrefix(ref, "urn:") && s.defines[ref] == "" && !seen[ref] {
					seen[ref] = true
					s.uses = append(s.uses, ref)
				}
			})
		}
	}
	if keep {
		s.units = units
	}
	return s
}

// entryKey names the resource an entry writes, or "" if that is only
// known when it runs (POST, conditional PUT).
func entryKey(method, url string) string {
	if method != "PUT" || strings.Contains(url, "?") {
		return ""
	}
	return url
}

// planner releases scanned files for loading in the order they were given.
type planner struct {
	pending    map[int]*scanned
	next       int
	owned      map[string]bool   // resources that a released file writes
	known      map[string]string // urn: fullUrls of released files
	waiting    []*waitingJob
	failures   []Failure
	duplicates int
}

// waitingJob is a released file whose references to other files are not
// all known yet.
type waitingJob struct {
	job  *job
	uses []string
}

func newPlanner(files int) *planner {
	return &planner{pending: make(map[int]*scanned, files), owned: map[string]bool{}, known: map[string]string{}}
}

// run takes every scanned file, releases the ones it can as soon as it can,
// the rest at the end, and then closes jobs.
func (p *planner) run(scans <-chan *scanned, jobs chan<- *job, total *atomic.Int64) {
	defer close(jobs)
	for s := range scans {
		total.Add(int64(s.entries))
		p.pending[s.index] = s
		for p.pending[p.next] != nil {
			s := p.pending[p.next]
			delete(p.pending, p.next)
			p.next++
			p.release(s, jobs)
		}
		p.retry(jobs)
	}
	for _, w := range p.waiting { // their references will not resolve: the load says so
		w.job.known = p.resolve(w.uses)
		jobs <- w.job
	}
}

// release decides which resources the file writes (those that no earlier
// file does), records what its fullUrls stand for, and sends it to be
// loaded if it needs nothing unknown.
func (p *planner) release(s *scanned, jobs chan<- *job) {
	for _, e := range s.errs {
		p.failures = append(p.failures, Failure{s.file, e.where, e.err})
	}
	j := &job{file: s.file, units: s.units}
	for _, k := range s.keys {
		switch {
		case k == "":
		case p.owned[k]:
			if j.skip == nil {
				j.skip = map[string]bool{}
			}
			j.skip[k] = true
			p.duplicates++
		default:
			p.owned[k] = true
		}
	}
	for url, ref := range s.defines {
		if _, dup := p.known[url]; !dup {
			p.known[url] = ref
		}
	}
	p.waiting = append(p.waiting, &waitingJob{j, s.uses})
}

// retry sends the waiting files whose references are now all known.
func (p *planner) retry(jobs chan<- *job) {
	kept := p.waiting[:0]
	for _, w := range p.waiting {
		if !p.knows(w.uses) {
			kept = append(kept, w)
			continue
		}
		w.job.known = p.resolve(w.uses)
		jobs <- w.job
	}
	p.waiting = kept
}

func (p *planner) knows(uses []string) bool {
	for _, u := range uses {
		if _, ok := p.known[u]; !ok {
			return false
		}
	}
	return true
}

// resolve returns the known targets of uses, a map of its own for each
// file, since loaders read it while the planner goes on.
func (p *planner) resolve(uses []string) map[string]string {
	m := make(map[string]string, len(uses))
	for _, u := range uses {
		if ref, ok := p.known[u]; ok {
			m[u] = ref
		}
	}
	return m
}

// without returns u minus the entries that write a resource in skip. The
// fullUrls of the entries left out go into known, so that the references
// other entries make to them still resolve, to the copy written earlier.
func (u unit) without(skip map[string]bool, known map[string]string) unit {
	if len(skip) == 0 {
		return u
	}
	out := unit{kind: u.kind, bundle: u.bundle}
	out.bundle.Entries = nil
	for i, e := range u.bundle.Entries {
		if skip[entryKey(e.Method, e.URL)] {
			if e.FullURL != "" {
				known[e.FullURL] = e.URL
			}
			continue
		}
		out.bundle.Entries = append(out.bundle.Entries, e)
		out.where = append(out.where, u.where[i])
	}
	return out
}
