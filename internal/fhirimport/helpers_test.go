package fhirimport_test

import (
	"context"
	"kartehub/internal/synthea"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"kartehub/internal/fhir"
	"kartehub/internal/fhirimport"
	"kartehub/internal/karte"
	"kartehub/internal/record"
	"kartehub/internal/store/sqlite"
)

// openStore opens a new SQLite store in a temporary directory, closed when
// the test ends.
func openStore(tb testing.TB) *sqlite.Store {
	tb.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "kartehub.db"))
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// run imports paths into st in this process and fails the test if the
// import could not run at all.
func run(tb testing.TB, st karte.Store, paths ...string) *fhirimport.Summary {
	tb.Helper()
	im := &fhirimport.Importer{Sink: record.New(st)}
	sum, err := im.Run(context.Background(), paths)
	if err != nil {
		tb.Fatalf("import %v: %v", paths, err)
	}
	return sum
}

// syntheaDir returns the shared Synthea sample, or skips the test if this
// checkout has none.
func syntheaDir(tb testing.TB) string {
	tb.Helper()
	dir := synthea.Dir()
	if dir == "" {
		tb.Skip("Synthea sample not found (../shared/data/synthea from the repository root)")
	}
	return dir
}

// syntheaEntries is the number of entries in the Synthea sample's bundles.
const syntheaEntries = synthea.Entries

// readInputs lists the entries of the transaction Bundles in paths.
func readInputs(tb testing.TB, paths []string) []synthea.Bundle {
	tb.Helper()
	bundles, err := synthea.Read(paths)
	if err != nil {
		tb.Fatal(err)
	}
	return bundles
}

// jsonFiles lists the .json files of dir, sorted.
func jsonFiles(tb testing.TB, dir string) []string {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		tb.Fatal(err)
	}
	sort.Strings(paths)
	return paths
}

// currentVersions walks the whole system history, page by page, and
// returns the current version of every resource by "Type/id", and the
// number of versions stored.
func currentVersions(tb testing.TB, st karte.Store) (map[string]*karte.Resource, int) {
	tb.Helper()
	ctx := context.Background()
	cur := map[string]*karte.Resource{}
	q := karte.HistoryQuery{Count: 1000}
	total, seen := -1, 0
	for {
		page, err := st.History(ctx, q)
		if err != nil {
			tb.Fatalf("history: %v", err)
		}
		if total < 0 {
			total = page.Total
		}
		for _, v := range page.Versions {
			seen++
			key := v.Type + "/" + v.ID
			if _, ok := cur[key]; !ok { // newest first: the first seen is current
				cur[key] = v
			}
		}
		if page.Next == 0 {
			break
		}
		q.Before = page.Next
	}
	if seen != total {
		tb.Fatalf("history paging returned %d versions, but its total is %d", seen, total)
	}
	return cur, total
}

// referencesOf returns every Reference.reference string in a resource body.
func referencesOf(tb testing.TB, body []byte) []string {
	tb.Helper()
	v, err := fhir.Parse(body)
	if err != nil {
		tb.Fatalf("stored body is not JSON: %v", err)
	}
	var refs []string
	var walk func(v fhir.Value)
	walk = func(v fhir.Value) {
		switch v := v.(type) {
		case *fhir.Object:
			for _, m := range v.Members {
				if s, ok := m.Value.(string); ok && m.Key == "reference" {
					refs = append(refs, s)
					continue
				}
				walk(m.Value)
			}
		case []fhir.Value:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(v)
	return refs
}

// checkReferences checks that every "Type/id" reference of the current
// resources finds a resource in st and that no urn:uuid: reference is left.
// Local references ("#id") are not checked. It returns how many references
// it checked.
func checkReferences(t *testing.T, st karte.Store, cur map[string]*karte.Resource) int {
	t.Helper()
	ctx := context.Background()
	checked := 0
	var unresolved, urns, other []string
	found := map[string]bool{}
	for key, r := range cur {
		if r.Deleted {
			continue
		}
		for _, ref := range referencesOf(t, r.Body) {
			switch typ, id, ok := strings.Cut(ref, "/"); {
			case strings.HasPrefix(ref, "#"):
			case strings.HasPrefix(ref, "urn:uuid:"):
				urns = append(urns, key+" → "+ref)
			case ok && fhir.IsResourceType(typ) && !strings.Contains(id, "/"):
				checked++
				if found[ref] {
					continue
				}
				if _, err := st.Read(ctx, typ, id); err != nil {
					unresolved = append(unresolved, key+" → "+ref+": "+err.Error())
					continue
				}
				found[ref] = true
			default:
				other = append(other, key+" → "+ref)
			}
		}
	}
	if len(urns) > 0 {
		sort.Strings(urns)
		t.Errorf("%d urn:uuid: references left in stored resources, e.g. %s", len(urns), strings.Join(urns[:min(5, len(urns))], "; "))
	}
	if len(unresolved) > 0 {
		sort.Strings(unresolved)
		t.Errorf("%d of %d references do not resolve, e.g. %s", len(unresolved), checked, strings.Join(unresolved[:min(5, len(unresolved))], "; "))
	}
	if len(other) > 0 {
		t.Logf("%d references of another form not checked, e.g. %s", len(other), strings.Join(other[:min(5, len(other))], "; "))
	}
	return checked
}

// failures renders the failures of a summary for test messages.
func failures(sum *fhirimport.Summary) string {
	var b strings.Builder
	for i, f := range sum.Failures {
		if i == 10 {
			b.WriteString("\n\t...")
			break
		}
		b.WriteString("\n\t" + f.String())
	}
	return b.String()
}
