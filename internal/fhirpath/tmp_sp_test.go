package fhirpath_test

import (
	"bufio"
	"os"
	"testing"

	"kartehub/internal/fhir"
	"kartehub/internal/fhirpath"
)

func TestTmpSearchParams(t *testing.T) {
	f, err := os.Open("/tmp/sp/exprs3.txt")
	if err != nil {
		t.Skip(err)
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		n++
		if _, err := fhirpath.Compile(sc.Text()); err != nil {
			t.Errorf("%s\n   %v", sc.Text(), err)
		}
	}
	t.Logf("%d expressions", n)
}

func TestTmpSearchParamsEval(t *testing.T) {
	f, _ := os.Open("/tmp/sp/exprs3.txt")
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	var exprs []*fhirpath.Expression
	for sc.Scan() {
		exprs = append(exprs, fhirpath.MustCompile(sc.Text()))
	}
	dir := "../../../shared/data/synthea/"
	ents, _ := os.ReadDir(dir)
	errs := map[string]int{}
	for i, e := range ents {
		if i > 100 {
			break
		}
		data, _ := os.ReadFile(dir + e.Name())
		v, err := fhir.Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		entries, _ := v.(*fhir.Object).Get("entry")
		for _, en := range entries.([]fhir.Value) {
			res := en.(*fhir.Object).Object("resource")
			for _, x := range exprs {
				if _, err := x.Evaluate(res, nil); err != nil {
					errs[x.String()+" :: "+err.Error()]++
				}
			}
		}
	}
	for k, n := range errs {
		t.Errorf("%d %s", n, k)
	}
}
