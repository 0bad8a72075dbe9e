package fhirpath_test

import (
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"kartehub/internal/fhir"
	"kartehub/internal/fhirpath"
)

// suiteDir is the official FHIRPath R4 test suite (HL7/fhirpath.js
// test/cases/fhir-r4.yaml with its resources), relative to this package:
// ../shared/data/fhirpath from the repository root.
var suiteDir = filepath.Join("..", "..", "..", "shared", "data", "fhirpath")

// suiteSkips are the cases the suite runner does not run, each with why;
// SKIPS.md lists the same. They are keyed by description and expression,
// since the suite repeats some descriptions.
var suiteSkips = map[suiteKey]string{
	{"** patient has a birthDate", "birthDate"}:                                "expects true from a path that yields the birthDate string; the case is wrong (disabled upstream)",
	{"** LowBoundaryDecimal15", "(-0.0034).lowBoundary(1)"}:                    "expects -0.0, contradicting LowBoundaryNegDecimal2 and the other enabled cases, which round the boundary outward (floor): -0.1 (disabled upstream)",
	{"** HighBoundaryDecimal15", "0.0034.highBoundary(1)"}:                     "expects 0, contradicting HighBoundaryDecimal1 and the other enabled cases, which round the boundary outward (ceiling): 0.1 (disabled upstream)",
	{"** HighBoundaryDecimal16", "-0.0034.highBoundary(1)"}:                    "expects 0 for -(0.0034.highBoundary(1)), contradicting the outward rounding of the enabled cases: -0.1 (disabled upstream)",
	{"** HighBoundaryDateTimeMillisecond1", "@2014-01-01T08.highBoundary(17)"}: "expects 08:00:59.999 as the latest instant of hour 08; it is 08:59:59.999 (disabled upstream)",
	{"** HighBoundaryDateTimeMillisecond3", "@2014-01-01T08.highBoundary(17)"}: "same expression and wrong expectation as HighBoundaryDateTimeMillisecond1 (disabled upstream)",
	{"** testFHIRPathAsFunction11", "Patient.gender.as(string)"}:               "expects as() to reject a subtype (code is a string), contradicting the specification of as and testFHIRPathIsFunction2 (disabled upstream)",
	{"** testFHIRPathAsFunction16", "Patient.gender.ofType(string)"}:           "expects ofType() to reject a subtype (code is a string), contradicting the specification of ofType and testFHIRPathIsFunction2 (disabled upstream)",
}

type suiteKey struct{ desc, expr string }

// suiteCase is one case of the suite.
type suiteCase struct {
	group, desc, input, expr string
	expectError              bool
	predicate                bool
	result                   []*yaml.Node
}

func loadSuite(tb testing.TB) []suiteCase {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(suiteDir, "fhir-r4.yaml"))
	if errors.Is(err, os.ErrNotExist) {
		tb.Skipf("FHIRPath test suite not found at %s (it lives in the shared data beside the repository)", suiteDir)
	}
	if err != nil {
		tb.Fatal(err)
	}
	var doc struct {
		Tests []yaml.Node `yaml:"tests"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		tb.Fatal(err)
	}
	var cases []suiteCase
	for _, g := range doc.Tests {
		cases = append(cases, groupCases(tb, &g)...)
	}
	return cases
}

// groupCases reads one group: a map of "group: name" to its cases.
func groupCases(tb testing.TB, g *yaml.Node) []suiteCase {
	tb.Helper()
	var out []suiteCase
	for i := 0; i+1 < len(g.Content); i += 2 {
		key, val := g.Content[i].Value, g.Content[i+1]
		if !strings.HasPrefix(key, "group:") {
			continue
		}
		group := strings.TrimSpace(strings.TrimPrefix(key, "group:"))
		for _, c := range val.Content {
			out = append(out, readCase(tb, group, c))
		}
	}
	return out
}

func readCase(tb testing.TB, group string, n *yaml.Node) suiteCase {
	tb.Helper()
	sc := suiteCase{group: group}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i].Value, n.Content[i+1]
		switch key {
		case "desc":
			sc.desc = val.Value
		case "inputfile":
			sc.input = val.Value
		case "expression":
			sc.expr = val.Value
		case "error":
			sc.expectError = val.Value == "true"
		case "invalid":
			sc.expectError = true
		case "predicate":
			sc.predicate = val.Value == "true"
		case "result":
			sc.result = val.Content
		}
	}
	return sc
}

// TestFHIRPathSuite runs the official FHIRPath R4 test suite and prints the
// figures: go test ./internal/fhirpath -run TestFHIRPathSuite -v
func TestFHIRPathSuite(t *testing.T) {
	cases := loadSuite(t)
	inputs := map[string]fhir.Value{}
	var passed, failed, skipped int
	for _, sc := range cases {
		if reason, ok := suiteSkips[suiteKey{sc.desc, sc.expr}]; ok {
			skipped++
			t.Logf("SKIP %s %s: %s", sc.desc, sc.expr, reason)
			continue
		}
		root, err := suiteInput(inputs, sc.input)
		if err != nil {
			t.Fatalf("%s: %v", sc.desc, err)
		}
		if msg := runCase(sc, root); msg != "" {
			failed++
			t.Errorf("FAIL [%s] %s: %s\n    %s", sc.group, sc.desc, sc.expr, msg)
			continue
		}
		passed++
	}
	total := passed + failed + skipped
	pct := 100 * float64(passed) / float64(total)
	summary := fmt.Sprintf("FHIRPath R4 suite: passed %d, failed %d, skipped %d, total %d: %.1f%% passed", passed, failed, skipped, total, pct)
	t.Log(summary)
	fmt.Println(summary)
	if pct < 95 {
		t.Errorf("pass rate %.1f%% is below 95%%", pct)
	}
}

func suiteInput(cache map[string]fhir.Value, name string) (fhir.Value, error) {
	if name == "" {
		return nil, nil
	}
	if v, ok := cache[name]; ok {
		return v, nil
	}
	data, err := os.ReadFile(filepath.Join(suiteDir, "resources", name))
	if err != nil {
		return nil, err
	}
	v, err := fhir.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	cache[name] = v
	return v, nil
}

// runCase runs one case and returns what went wrong, or "".
func runCase(sc suiteCase, root fhir.Value) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprintf("panic: %v", r)
		}
	}()
	e, err := fhirpath.Compile(sc.expr)
	if err == nil {
		var got fhirpath.Collection
		got, err = e.Evaluate(root, nil)
		if err == nil {
			if sc.expectError {
				return fmt.Sprintf("expected an error, got %s", describeCollection(got))
			}
			if sc.predicate {
				got = predicate(got)
			}
			return compareResult(sc.result, got)
		}
	}
	if sc.expectError {
		return ""
	}
	return "unexpected error: " + err.Error()
}

func predicate(c fhirpath.Collection) fhirpath.Collection {
	if len(c) == 1 {
		if b, ok := c[0].Value().(bool); ok {
			return fhirpath.Of(b)
		}
	}
	return fhirpath.Of(len(c) > 0)
}

// compareResult compares the items with the expected YAML values: booleans
// and numbers by value, anything else by its string form.
func compareResult(want []*yaml.Node, got fhirpath.Collection) string {
	if len(want) != len(got) {
		return fmt.Sprintf("want %s, got %s", describeWant(want), describeCollection(got))
	}
	for i, w := range want {
		if !matchItem(w, got[i]) {
			return fmt.Sprintf("item %d: want %s, got %s", i, describeWant(want), describeCollection(got))
		}
	}
	return ""
}

func matchItem(w *yaml.Node, it fhirpath.Item) bool {
	switch w.Tag {
	case "!!bool":
		b, ok := it.Value().(bool)
		return ok && fmt.Sprint(b) == w.Value
	case "!!int", "!!float":
		return numbersEqual(w.Value, it.String())
	}
	return it.String() == w.Value
}

func numbersEqual(want, got string) bool {
	a, ok1 := new(big.Rat).SetString(want)
	b, ok2 := new(big.Rat).SetString(got)
	return ok1 && ok2 && a.Cmp(b) == 0
}

func describeWant(want []*yaml.Node) string {
	var parts []string
	for _, w := range want {
		parts = append(parts, w.Value)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func describeCollection(c fhirpath.Collection) string {
	var parts []string
	for _, it := range c {
		s := it.String()
		if len(s) > 60 {
			s = s[:60] + "..."
		}
		parts = append(parts, s+" ("+it.Type()+")")
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
