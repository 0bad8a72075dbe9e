package fhirpath_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kartehub/internal/fhir"
	"kartehub/internal/fhirpath"
)

// r4SearchExpressions returns the expressions of the R4 search parameters
// (testdata/r4-search-expressions.txt).
func r4SearchExpressions(tb testing.TB) []string {
	tb.Helper()
	f, err := os.Open(filepath.Join("testdata", "r4-search-expressions.txt"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// TestR4SearchParameters compiles every R4 search-parameter expression:
// the model checks of Compile must accept them all.
func TestR4SearchParameters(t *testing.T) {
	exprs := r4SearchExpressions(t)
	if len(exprs) < 1500 {
		t.Fatalf("only %d expressions", len(exprs))
	}
	for _, src := range exprs {
		if _, err := fhirpath.Compile(src); err != nil {
			t.Errorf("%s: %v", src, err)
		}
	}
}

// TestR4SearchParametersOnSynthea evaluates the search-parameter
// expressions that start from a resource type on real Synthea resources:
// none may fail at run time.
func TestR4SearchParametersOnSynthea(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	var exprs []*fhirpath.Expression
	for _, src := range r4SearchExpressions(t) {
		if isUpper(src) || strings.HasPrefix(src, "(") {
			exprs = append(exprs, fhirpath.MustCompile(src))
		}
	}
	ents, err := os.ReadDir(syntheaDir)
	if err != nil {
		t.Skipf("Synthea data not found at %s", syntheaDir)
	}
	resources, failures := 0, map[string]string{}
	for _, e := range ents[:min(len(ents), 5)] {
		data, err := os.ReadFile(filepath.Join(syntheaDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		bundle, err := fhir.ParseObject(data)
		if err != nil {
			continue
		}
		entries, _ := bundle.Get("entry")
		list, _ := entries.([]fhir.Value)
		for _, en := range list {
			res := en.(*fhir.Object).Object("resource")
			resources++
			for _, x := range exprs {
				if _, err := x.Evaluate(res, nil); err != nil {
					failures[x.String()] = err.Error()
				}
			}
		}
	}
	for src, err := range failures {
		t.Errorf("%s: %s", src, err)
	}
	t.Logf("%d expressions on %d resources", len(exprs), resources)
}

func isUpper(s string) bool { return s != "" && s[0] >= 'A' && s[0] <= 'Z' }
