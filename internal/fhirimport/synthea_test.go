package fhirimport_test

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"kartehub/internal/fhirimport"
)

// TestSynthea imports the Synthea sample once, checks that every entry is
// stored and every reference resolves, then imports it again and checks
// that nothing changed.
func TestSynthea(t *testing.T) {
	if testing.Short() {
		t.Skip("imports the whole Synthea sample twice; skipped in -short mode")
	}
	dir := syntheaDir(t)
	files := jsonFiles(t, dir)
	inputs := readInputs(t, files)
	st := openStore(t)

	sum := run(t, st, dir)
	t.Logf("first import: %v", sum)
	if len(sum.Failures) > 0 {
		t.Fatalf("%d failures:%s", len(sum.Failures), failures(sum))
	}
	// Entries that repeat a resource of an earlier file are skipped, not
	// written, and counted apart.
	if sum.Files != len(files) || sum.Resources+sum.Duplicates != syntheaEntries {
		t.Fatalf("imported %d resources (+%d repeated) from %d files, want %d entries from %d",
			sum.Resources, sum.Duplicates, sum.Files, syntheaEntries, len(files))
	}
	cur, total := currentVersions(t, st)

	// inFiles counts the input files each resource appears in: Synthea
	// repeats organisations and practitioners in every patient file that
	// uses them, and again in the hospital and practitioner files.
	inFiles := map[string]int{}
	for _, f := range inputs {
		for _, ref := range f.Refs {
			inFiles[ref]++
		}
	}

	t.Run("AllEntriesStored", func(t *testing.T) {
		var missing []string
		for ref := range inFiles {
			if r, ok := cur[ref]; !ok || r.Deleted {
				missing = append(missing, ref)
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			t.Errorf("%d of %d resources missing, e.g. %v", len(missing), len(inFiles), missing[:min(5, len(missing))])
		}
		if len(cur) != len(inFiles) {
			t.Errorf("store holds %d resources, want the %d distinct ones of the input", len(cur), len(inFiles))
		}
	})

	t.Run("ReferencesResolve", func(t *testing.T) {
		n := checkReferences(t, st, cur)
		t.Logf("%d references checked", n)
		if n == 0 {
			t.Error("no references found to check")
		}
	})

	t.Run("Idempotent", func(t *testing.T) {
		again := run(t, st, dir)
		t.Logf("second import: %v", again)
		if len(again.Failures) > 0 {
			t.Fatalf("%d failures:%s", len(again.Failures), failures(again))
		}
		if again.Resources != sum.Resources || again.Duplicates != sum.Duplicates {
			t.Errorf("second import counted %d resources (+%d repeated), the first %d (+%d)",
				again.Resources, again.Duplicates, sum.Resources, sum.Duplicates)
		}
		cur2, total2 := currentVersions(t, st)
		if total2 != total {
			t.Errorf("history grew from %d to %d versions on the second import", total, total2)
		}
		if len(cur2) != len(cur) {
			t.Errorf("store went from %d to %d resources", len(cur), len(cur2))
		}
		var notFirst []string
		shared := 0
		for key, r := range cur2 {
			if r.VersionID == 1 {
				continue
			}
			if inFiles[key] > 1 {
				shared++
			}
			notFirst = append(notFirst, fmt.Sprintf("%s at version %d (after the first import: %d; in %d input files)",
				key, r.VersionID, cur[key].VersionID, inFiles[key]))
		}
		if len(notFirst) > 0 {
			sort.Strings(notFirst)
			t.Errorf("%d resources are not at version 1 (%d of them appear in more than one input file), e.g.\n\t%s",
				len(notFirst), shared, strings.Join(notFirst[:min(5, len(notFirst))], "\n\t"))
		}
	})
}

// TestSyntheaSplitRuns loads the patient files in one run and the hospital
// and practitioner files in a second one: no reference may be left
// unresolved.
func TestSyntheaSplitRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("imports the whole Synthea sample; skipped in -short mode")
	}
	dir := syntheaDir(t)
	var patients, shared []string
	for _, p := range jsonFiles(t, dir) {
		name := filepath.Base(p)
		if strings.HasPrefix(name, "hospitalInformation") || strings.HasPrefix(name, "practitionerInformation") {
			shared = append(shared, p)
		} else {
			patients = append(patients, p)
		}
	}
	if len(shared) == 0 || len(patients) == 0 {
		t.Fatalf("want patient files and hospital/practitioner files in %s, found %d and %d", dir, len(patients), len(shared))
	}
	st := openStore(t)
	first := run(t, st, patients...)
	second := run(t, st, shared...)
	t.Logf("patients: %v; hospitals and practitioners: %v", first, second)
	for name, sum := range map[string]*fhirimport.Summary{"patient run": first, "hospital/practitioner run": second} {
		if len(sum.Failures) > 0 {
			t.Errorf("%s: %d failures:%s", name, len(sum.Failures), failures(sum))
		}
	}
	if n := first.Resources + first.Duplicates + second.Resources + second.Duplicates; n != syntheaEntries {
		t.Errorf("imported %d entries in all, want %d", n, syntheaEntries)
	}
	cur, _ := currentVersions(t, st)
	checkReferences(t, st, cur)
}
