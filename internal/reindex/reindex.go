// Package reindex rebuilds the search index when search parameters change.
// Each change is a job that walks the resources of the types it concerns
// in small batches, in the background: writes go on between batches, the
// progress is kept in the store after each one so that a restart resumes
// the job where it stopped, and Status shows how far every job has come.
package reindex

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"kartehub/internal/fhir"
	"kartehub/internal/karte"
)

// batch is how many resources one step reindexes: small enough that a
// step never holds up other writes for long.
const batch = 200

// Engine is what a store must offer for reindexing.
type Engine interface {
	karte.Searcher
	karte.Reindexer
	karte.JobStore
}

// Manager runs reindex jobs one after another.
type Manager struct {
	store Engine
	index func(*fhir.Object) *karte.Index
	log   *slog.Logger
	wake  chan struct{}
	// Done, if set, is called when a job has finished.
	Done func(name string)

	mu     sync.Mutex
	status map[string]*Status
}

// Status is the progress of one job.
type Status struct {
	Name     string    `json:"name"`
	Types    []string  `json:"types"`
	Type     string    `json:"type"`     // the type being reindexed
	Done     int       `json:"done"`     // resources reindexed so far
	Total    int       `json:"total"`    // resources to reindex, as counted at the start
	Started  time.Time `json:"started"`  // when the job was queued
	Updated  time.Time `json:"updated"`  // when it last made progress
	Finished bool      `json:"finished"` // done; kept for Status until the next restart
	Error    string    `json:"error,omitempty"`
}

// state is what the store keeps of a job between steps.
type state struct {
	Types     []string  `json:"types"`
	TypeIndex int       `json:"typeIndex"`
	After     string    `json:"after"` // search cursor within the current type
	Done      int       `json:"done"`
	Total     int       `json:"total"`
	Started   time.Time `json:"started"`
}

// New returns a Manager on store, computing indexes with index.
func New(store Engine, index func(*fhir.Object) *karte.Index, log *slog.Logger) *Manager {
	return &Manager{store: store, index: index, log: log, wake: make(chan struct{}, 1), status: map[string]*Status{}}
}

// Enqueue adds a job, or restarts the job of that name, over types.
func (m *Manager) Enqueue(ctx context.Context, name string, types []string) error {
	st := state{Types: types, Started: time.Now().UTC()}
	for _, t := range types {
		res, err := m.store.Search(ctx, &karte.Query{Types: []string{t}, Total: true})
		if err != nil {
			return err
		}
		st.Total += res.Total
	}
	if err := m.save(ctx, name, &st); err != nil {
		return err
	}
	select {
	case m.wake <- struct{}{}:
	default:
	}
	return nil
}

// Run works through the stored jobs until ctx ends, waiting for new ones
// when there are none.
func (m *Manager) Run(ctx context.Context) {
	for {
		if err := m.runAll(ctx); err != nil && ctx.Err() == nil {
			m.log.Error("reindex", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-m.wake:
		case <-time.After(time.Minute): // retry jobs that failed
		}
	}
}

func (m *Manager) runAll(ctx context.Context) error {
	jobs, err := m.store.Jobs(ctx)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(jobs))
	for n := range jobs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		var st state
		if err := json.Unmarshal(jobs[name], &st); err != nil {
			return fmt.Errorf("job %s: %w", name, err)
		}
		if err := m.run(ctx, name, &st); err != nil {
			m.fail(name, err)
			return err
		}
	}
	return nil
}

// run steps through one job to its end.
func (m *Manager) run(ctx context.Context, name string, st *state) error {
	m.log.Info("reindex started", "job", name, "types", st.Types, "done", st.Done, "total", st.Total)
	for st.TypeIndex < len(st.Types) {
		if err := m.step(ctx, st); err != nil {
			return err
		}
		if err := m.save(ctx, name, st); err != nil {
			return err
		}
	}
	if err := m.store.DeleteJob(ctx, name); err != nil {
		return err
	}
	m.mu.Lock()
	m.status[name].Finished = true
	m.mu.Unlock()
	m.log.Info("reindex finished", "job", name, "resources", st.Done)
	if m.Done != nil {
		m.Done(name)
	}
	return nil
}

// step reindexes one batch of the current type.
func (m *Manager) step(ctx context.Context, st *state) error {
	typ := st.Types[st.TypeIndex]
	res, err := m.store.Search(ctx, &karte.Query{Types: []string{typ}, Count: batch, After: st.After})
	if err != nil {
		return err
	}
	for _, r := range res.Matches {
		obj, err := fhir.ParseObject(r.Body)
		if err != nil {
			return fmt.Errorf("%s/%s: %w", r.Type, r.ID, err)
		}
		if err := m.store.Reindex(ctx, r, m.index(obj)); err != nil {
			return err
		}
	}
	st.Done += len(res.Matches)
	st.After = res.Next
	if res.Next == "" {
		st.TypeIndex, st.After = st.TypeIndex+1, ""
	}
	return nil
}

// save stores the job's state and updates its status.
func (m *Manager) save(ctx context.Context, name string, st *state) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := m.store.PutJob(ctx, name, b); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.status[name]
	if s == nil || s.Finished {
		s = &Status{Name: name}
		m.status[name] = s
	}
	s.Types, s.Done, s.Total, s.Started, s.Updated, s.Error = st.Types, st.Done, st.Total, st.Started, time.Now().UTC(), ""
	if st.TypeIndex < len(st.Types) {
		s.Type = st.Types[st.TypeIndex]
	}
	return nil
}

func (m *Manager) fail(name string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.status[name]; s != nil {
		s.Error = err.Error()
	}
}

// Status returns the progress of the jobs known since start, by name.
func (m *Manager) Status() []Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Status, 0, len(m.status))
	for _, s := range m.status {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Running reports whether job name is queued or running.
func (m *Manager) Running(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.status[name]
	return s != nil && !s.Finished
}
