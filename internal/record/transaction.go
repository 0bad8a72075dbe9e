package record

import (
	"context"
	"strings"
	"sync"
	"time"

	"kartehub/internal/fhir"
	"kartehub/internal/karte"
)

// refSlot is a reference inside an entry's resource that the transaction
// may rewrite. orig keeps the value as sent, so that a retried transaction
// rewrites from the original again.
type refSlot struct {
	entry int // index of the entry whose resource holds the reference
	obj   *fhir.Object
	at    int
	orig  string
}

// Transaction runs all entries of b as one atomic transaction, in the order
// FHIR prescribes (DELETE, POST, PUT and PATCH, then GET), resolving
// urn:uuid: fullUrls and conditional references into real references.
// Either every entry succeeds and its Result is returned, or nothing is
// kept and the error names the failing entry.
func (s *Service) Transaction(ctx context.Context, b Bundle) ([]Result, error) {
	if _, err := s.authorize(ctx, karte.Request{Interaction: karte.InteractionTransaction}); err != nil {
		return nil, err
	}
	reqs := make([]*request, len(b.Entries))
	for i, e := range b.Entries {
		r, err := decodeEntry(i, e)
		if err != nil {
			return nil, entryError(i, err)
		}
		if r.grant, err = s.authorize(ctx, karte.Request{Interaction: r.interaction(), Type: r.typ}); err != nil {
			return nil, entryError(i, err)
		}
		for _, c := range []*criteria{r.crit, r.ifNone} {
			if err := s.withQuery(ctx, c); err != nil {
				return nil, entryError(i, err)
			}
		}
		reqs[i] = r
	}
	if err := checkDistinct(reqs); err != nil {
		return nil, err
	}
	at := s.timestamp()
	refs := assignFixedIDs(reqs, at)
	slots := resolveFixedRefs(reqs, collectRefs(reqs, b), refs, b.KnownRefs)
	for _, r := range reqs {
		r.d.indexer = s.draft(nil).indexer
		if r.settled() {
			r.d.prepare(r.id, at) // for the version a new resource gets
		}
	}
	var results []Result
	err := s.store.Write(ctx, func(tx karte.Tx) error {
		var err error
		results, err = s.runTransaction(ctx, tx, reqs, slots, refs, at)
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, r := range results {
		s.afterWrite(ctx, r.Outcome)
	}
	return results, nil
}

// checkDistinct refuses a bundle that touches one resource twice: the
// outcome would depend on processing order in ways clients do not expect.
func checkDistinct(reqs []*request) error {
	seen := map[string]int{}
	for _, r := range reqs {
		if r.id == "" || r.method == "GET" {
			continue
		}
		key := r.typ + "/" + r.id
		if j, dup := seen[key]; dup {
			return entryError(r.index, karte.Errorf(karte.Invalid, "%s is also the target of entry %d", key, j))
		}
		seen[key] = r.index
	}
	return nil
}

// collectRefs finds the references that the transaction must resolve:
// those to other entries' fullUrls, urn: references, and conditional ones.
func collectRefs(reqs []*request, b Bundle) []refSlot {
	fullURLs := map[string]bool{}
	for _, r := range reqs {
		if r.fullURL != "" {
			fullURLs[r.fullURL] = true
		}
	}
	var slots []refSlot
	for _, r := range reqs {
		if r.res == nil || r.method == "PATCH" {
			continue
		}
		fhir.WalkReferences(r.res, func(obj *fhir.Object, at int, ref string) {
			if fullURLs[ref] || strings.HasPrefix(ref, "urn:") || strings.Contains(ref, "?") {
				slots = append(slots, refSlot{r.index, obj, at, ref})
			}
		})
	}
	return slots
}

// assignFixedIDs gives each POST without If-None-Exist its new id, and
// returns what the fullUrls of those and of PUTs to a given id stand for.
// Doing this before the write transaction lets most references be settled,
// and most resources encoded, outside the store's single writer.
func assignFixedIDs(reqs []*request, at time.Time) map[string]string {
	refs := map[string]string{}
	for _, r := range reqs {
		switch {
		case r.method == "POST" && r.ifNone == nil:
			r.id = newID(at)
		case r.method == "PUT" && r.crit == nil:
		default:
			continue
		}
		if r.fullURL != "" {
			refs[r.fullURL] = r.typ + "/" + r.id
		}
	}
	return refs
}

// resolveFixedRefs rewrites the references whose targets are already
// known, and returns the slots that only the transaction can resolve
// (conditional targets), marking their entries unsettled.
func resolveFixedRefs(reqs []*request, slots []refSlot, refs, known map[string]string) []refSlot {
	var open []refSlot
	for _, sl := range slots {
		target, ok := refs[sl.orig]
		if !ok {
			target, ok = known[sl.orig]
		}
		if !ok {
			reqs[sl.entry].openRefs = true
			open = append(open, sl)
			continue
		}
		sl.obj.Members[sl.at].Value = target
	}
	return open
}

func (s *Service) runTransaction(ctx context.Context, tx karte.Tx, reqs []*request, slots []refSlot, refs map[string]string, at time.Time) ([]Result, error) {
	results := make([]Result, len(reqs))
	run := func(method string, fn func(context.Context, *request) error) error {
		for _, r := range reqs {
			if r.method == method || (method == "PUT" && r.method == "PATCH") {
				if err := fn(withGrant(ctx, r.grant), r); err != nil {
					return entryError(r.index, err)
				}
			}
		}
		return nil
	}
	steps := []struct {
		method string
		fn     func(context.Context, *request) error
	}{
		{"DELETE", func(ctx context.Context, r *request) error { return s.txDelete(ctx, tx, r, &results[r.index], at) }},
		{"POST", func(ctx context.Context, r *request) error {
			return assignPost(ctx, tx, r, &results[r.index], refs, at)
		}},
		{"PUT", func(ctx context.Context, r *request) error { return assignPut(ctx, tx, r, refs, at) }},
	}
	for _, st := range steps {
		if err := run(st.method, st.fn); err != nil {
			return nil, err
		}
	}
	if err := s.resolveRefs(ctx, tx, reqs, slots, refs); err != nil {
		return nil, err
	}
	writes := []struct {
		method string
		fn     func(context.Context, *request) error
	}{
		{"POST", func(ctx context.Context, r *request) error { return txPost(ctx, tx, r, &results[r.index], at) }},
		{"PUT", func(ctx context.Context, r *request) error { return s.txPut(ctx, tx, r, &results[r.index], at) }},
		{"GET", func(ctx context.Context, r *request) error { return txGet(ctx, tx, r, &results[r.index]) }},
	}
	for _, st := range writes {
		if err := run(st.method, st.fn); err != nil {
			return nil, err
		}
	}
	return results, nil
}

func (s *Service) txDelete(ctx context.Context, tx karte.Tx, r *request, res *Result, at time.Time) error {
	var cur *karte.Resource
	var err error
	if r.crit != nil {
		cur, err = r.crit.single(ctx, tx)
	} else {
		cur, err = current(ctx, tx, r.typ, r.id)
	}
	if err == nil {
		err = checkMatch(cur, r.ifMatch)
	}
	if err == nil {
		res.Outcome, err = remove(ctx, tx, cur, at)
	}
	return err
}

// assignPost settles the id of a conditional POST: an existing match of
// If-None-Exist, or a new id, and records what its fullUrl now stands for.
// Other POSTs got their ids before the transaction.
func assignPost(ctx context.Context, tx karte.Tx, r *request, res *Result, refs map[string]string, at time.Time) error {
	if r.ifNone == nil {
		return nil
	}
	r.id = ""
	if r.ifNone != nil {
		cur, err := r.ifNone.single(ctx, tx)
		if err != nil {
			return err
		}
		if cur != nil {
			if err := admitInTx(ctx, tx, r.typ, cur.ID); err != nil {
				return err
			}
			res.Outcome = &Outcome{Resource: cur, Unchanged: true}
			r.id = cur.ID
		}
	}
	if r.id == "" {
		r.id = newID(at)
	}
	if r.fullURL != "" {
		refs[r.fullURL] = r.typ + "/" + r.id
	}
	return nil
}

// assignPut settles the id of a conditional PUT and records its fullUrl.
func assignPut(ctx context.Context, tx karte.Tx, r *request, refs map[string]string, at time.Time) error {
	if r.crit != nil {
		match, err := r.crit.single(ctx, tx)
		if err != nil {
			return err
		}
		switch id := r.res.String("id"); {
		case match != nil:
			r.id = match.ID
		case id != "":
			r.id = id
		default:
			r.id = newID(at)
		}
	}
	if r.fullURL != "" && r.id != "" {
		refs[r.fullURL] = r.typ + "/" + r.id
	}
	return nil
}

// resolveRefs rewrites the references left open before the transaction,
// from their original values, so that a retried transaction starts afresh.
func (s *Service) resolveRefs(ctx context.Context, tx karte.Tx, reqs []*request, slots []refSlot, refs map[string]string) error {
	for _, sl := range slots {
		reqs[sl.entry].d.changed()
		target, ok := refs[sl.orig]
		if !ok {
			var err error
			if target, err = s.resolveConditional(ctx, tx, sl.orig); err != nil {
				return entryError(sl.entry, err)
			}
		}
		sl.obj.Members[sl.at].Value = target
	}
	return nil
}

// resolveConditional turns a reference "Type?criteria" into "Type/id" of
// its one match.
func (s *Service) resolveConditional(ctx context.Context, tx karte.Tx, ref string) (string, error) {
	typ, query, found := strings.Cut(ref, "?")
	if !found {
		return "", karte.Errorf(karte.Unprocessable, "reference %q does not resolve to any entry of the bundle", ref)
	}
	if !fhir.IsResourceType(typ) {
		return "", karte.Errorf(karte.Unprocessable, "conditional reference %q: unknown resource type", ref)
	}
	crit, err := s.criteria(ctx, typ, query)
	if err != nil {
		return "", err
	}
	cur, err := crit.single(ctx, tx)
	if err != nil {
		return "", err
	}
	if cur == nil {
		return "", withIssue(karte.Errorf(karte.PreconditionFailed, "conditional reference %q matches no resource", ref), "not-found")
	}
	return typ + "/" + cur.ID, nil
}

func txPost(ctx context.Context, tx karte.Tx, r *request, res *Result, at time.Time) error {
	if res.Outcome != nil { // If-None-Exist found its match
		return nil
	}
	var err error
	res.Outcome, err = put(ctx, tx, nil, r.typ, r.id, &r.d, "POST", at)
	return err
}

func (s *Service) txPut(ctx context.Context, tx karte.Tx, r *request, res *Result, at time.Time) error {
	var err error
	if r.method == "PATCH" {
		res.Outcome, err = s.applyPatch(ctx, tx, r.typ, r.id, r.patch, r.ifMatch, at)
		return err
	}
	res.Outcome, err = update(ctx, tx, r.typ, r.id, &r.d, r.ifMatch, at)
	return err
}

func txGet(ctx context.Context, tx karte.Tx, r *request, res *Result) error {
	if r.version > 0 {
		res.Read, res.Err = tx.VRead(ctx, r.typ, r.id, r.version)
	} else {
		res.Read, res.Err = tx.Current(ctx, r.typ, r.id)
		if res.Err == nil && res.Read.Deleted {
			res.Err = karte.Errorf(karte.Gone, "%s/%s is deleted", r.typ, r.id)
		}
	}
	if res.Err == nil {
		if res.Err = admitInTx(ctx, tx, r.typ, r.id); res.Err != nil {
			res.Read = nil
		}
	}
	if karte.IsKind(res.Err, karte.NotFound) || karte.IsKind(res.Err, karte.Gone) || karte.IsKind(res.Err, karte.Forbidden) {
		return nil // a read that finds nothing is its entry's answer, not a failure
	}
	return res.Err
}

// Batch runs every entry of b on its own: one entry failing does not stop
// the others. Entries of one kind run concurrently, so their writes share
// commits; kinds run in the order that Transaction uses.
func (s *Service) Batch(ctx context.Context, b Bundle) []Result {
	results := make([]Result, len(b.Entries))
	if _, err := s.authorize(ctx, karte.Request{Interaction: karte.InteractionBatch}); err != nil {
		for i := range results {
			results[i].Err = err
		}
		return results
	}
	for _, phase := range [][]string{{"DELETE"}, {"POST"}, {"PUT", "PATCH"}, {"GET", "HEAD"}} {
		var wg sync.WaitGroup
		sem := make(chan struct{}, 16)
		for i, e := range b.Entries {
			if !contains(phase, strings.ToUpper(e.Method)) {
				continue
			}
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				results[i] = s.batchEntry(ctx, i, e, b.KnownRefs)
			}()
		}
		wg.Wait()
	}
	return results
}

func (s *Service) batchEntry(ctx context.Context, i int, e Entry, known map[string]string) Result {
	out, err := s.Transaction(ctx, Bundle{Entries: []Entry{e}, KnownRefs: known})
	if err != nil {
		return Result{Err: rebase(err, i)}
	}
	return out[0]
}

// rebase moves an error located at entry 0 of a one-entry bundle to entry i.
func rebase(err error, i int) error {
	ke, ok := err.(*karte.Error)
	if !ok || i == 0 {
		return err
	}
	out := *ke
	from, to := "Bundle.entry[0]", "Bundle.entry["+itoa(int64(i))+"]"
	out.Message = strings.Replace(out.Message, from, to, 1)
	out.Issues = make([]karte.Issue, len(ke.Issues))
	for j, is := range ke.Issues {
		is.Expression = strings.Replace(is.Expression, from, to, 1)
		out.Issues[j] = is
	}
	return &out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
