package synth_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"kartehub/internal/fhir"
	"kartehub/internal/fhirimport"
	"kartehub/internal/record"
	"kartehub/internal/store/sqlite"
	"kartehub/internal/synth"
)

// generate returns the resources of cfg by type, as JSON.
func generate(tb testing.TB, cfg synth.Config) map[string][][]byte {
	tb.Helper()
	out := map[string][][]byte{}
	err := synth.Stream(context.Background(), cfg, func(typ string, res []byte) error {
		out[typ] = append(out[typ], bytes.Clone(res))
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func parse(tb testing.TB, res []byte) *fhir.Object {
	tb.Helper()
	obj, err := fhir.ParseObject(res)
	if err != nil {
		tb.Fatalf("%v\n%s", err, res)
	}
	return obj
}

func TestValid(t *testing.T) {
	byType := generate(t, synth.Config{Patients: 300, Facilities: synth.DefaultFacilities, Seed: 7})
	for _, typ := range synth.ResourceTypes {
		t.Run(typ, func(t *testing.T) {
			list := byType[typ]
			if len(list) == 0 {
				t.Fatalf("no %s generated", typ)
			}
			for _, res := range list {
				obj := parse(t, res)
				if got := obj.String("resourceType"); got != typ {
					t.Fatalf("resourceType %q in the %s stream", got, typ)
				}
				if issues := fhir.Validate(obj); len(issues) > 0 {
					t.Fatalf("%s/%s: %d issues, first: %s at %s\n%s", typ, obj.String("id"),
						len(issues), issues[0].Diagnostics, issues[0].Expression, res)
				}
			}
		})
	}
}

// TestReferences checks that ids are unique and every reference points at
// a generated resource.
func TestReferences(t *testing.T) {
	byType := generate(t, synth.Config{Patients: 300, Facilities: 12, Seed: 3})
	ids := map[string]bool{}
	var refs []string
	idRE := regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)
	for typ, list := range byType {
		for _, res := range list {
			obj := parse(t, res)
			id := obj.String("id")
			if !idRE.MatchString(id) {
				t.Fatalf("%s has id %q", typ, id)
			}
			key := typ + "/" + id
			if ids[key] {
				t.Fatalf("%s generated twice", key)
			}
			ids[key] = true
			fhir.WalkReferences(obj, func(_ *fhir.Object, _ int, ref string) { refs = append(refs, ref) })
		}
	}
	if len(refs) == 0 {
		t.Fatal("no references")
	}
	for _, ref := range refs {
		if !ids[ref] {
			t.Fatalf("reference %q points at nothing generated", ref)
		}
	}
}

func TestCounts(t *testing.T) {
	for _, tt := range []struct {
		name       string
		facilities int
	}{{"Hub", 0}, {"Five", 5}, {"Default", synth.DefaultFacilities}, {"Max", synth.MaxFacilities}} {
		t.Run(tt.name, func(t *testing.T) {
			const patients = 500
			byType := generate(t, synth.Config{Patients: patients, Facilities: tt.facilities, Seed: 1})
			f := tt.facilities
			for typ, want := range map[string]int{
				"Organization": 1 + f, "Location": 4 + f, "Practitioner": 28 + 5*f,
				"PractitionerRole": 28 + 5*f, "Medication": 9, "Patient": patients,
			} {
				if got := len(byType[typ]); got != want {
					t.Errorf("%d %s, want %d", got, typ, want)
				}
			}
			var total int
			for typ, list := range byType {
				if typ != "Organization" && typ != "Location" && !strings.HasPrefix(typ, "Practitioner") && typ != "Medication" {
					total += len(list)
				}
			}
			perPatient := float64(total) / patients
			if perPatient < 40 || perPatient > 80 {
				t.Errorf("%.1f resources a patient, want 40 to 80", perPatient)
			}
			t.Logf("%.1f resources a patient", perPatient)
		})
	}
}

// TestJPCore checks the JP Core shape of patients: a facility identifier,
// and the name in kanji and in kana.
func TestJPCore(t *testing.T) {
	byType := generate(t, synth.Config{Patients: 100, Facilities: 40, Seed: 5})
	system := regexp.MustCompile(`^urn:oid:1\.2\.392\.100495\.20\.3\.51\.1[0-9]{10}$`)
	kana := regexp.MustCompile(`^[\p{Katakana}ー ]+$`)
	for _, res := range byType["Patient"] {
		p := parse(t, res)
		ids, _ := p.Get("identifier")
		for _, v := range ids.([]fhir.Value) {
			if s := v.(*fhir.Object).String("system"); !system.MatchString(s) {
				t.Fatalf("identifier system %q", s)
			}
		}
		names, _ := p.Get("name")
		list := names.([]fhir.Value)
		if len(list) != 2 {
			t.Fatalf("%d names, want 2", len(list))
		}
		for i, want := range []string{"IDE", "SYL"} {
			n := list[i].(*fhir.Object)
			exts, _ := n.Get("extension")
			ext := exts.([]fhir.Value)[0].(*fhir.Object)
			if ext.String("valueCode") != want || !strings.HasSuffix(ext.String("url"), "iso21090-EN-representation") {
				t.Fatalf("name %d: extension %s, want %s", i, fhir.Marshal(ext), want)
			}
			if want == "SYL" && !kana.MatchString(n.String("text")) {
				t.Fatalf("kana name %q", n.String("text"))
			}
		}
	}
}

func TestDeterministic(t *testing.T) {
	cfg := synth.Config{Patients: 150, Facilities: 10, Seed: 42}
	a, b := write(t, cfg, 1000), write(t, cfg, 1000)
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("%d and %d files", len(a), len(b))
	}
	for name, data := range a {
		if !bytes.Equal(data, b[name]) {
			t.Fatalf("%s differs between two runs with the same seed", name)
		}
	}
	cfg.Seed = 43
	c := write(t, cfg, 1000)
	if bytes.Equal(a["Patient.ndjson"], c["Patient.ndjson"]) {
		t.Fatal("seeds 42 and 43 give the same patients")
	}
}

// TestPatientsStable checks that patient i does not depend on how many
// patients there are, so that a larger data set extends a smaller one.
func TestPatientsStable(t *testing.T) {
	small := generate(t, synth.Config{Patients: 20, Facilities: 10, Seed: 9})
	large := generate(t, synth.Config{Patients: 60, Facilities: 10, Seed: 9})
	for i, res := range small["Patient"] {
		if !bytes.Equal(res, large["Patient"][i]) {
			t.Fatalf("patient %d differs", i+1)
		}
	}
}

// write generates cfg into a new directory and returns its files by name.
func write(tb testing.TB, cfg synth.Config, split int) map[string][]byte {
	tb.Helper()
	dir := tb.TempDir()
	sum, err := (&synth.Writer{Dir: dir, Split: split}).Write(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	files := map[string][]byte{}
	var lines int
	for _, f := range sum.Files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		files[filepath.Base(f)] = data
		lines += bytes.Count(data, []byte("\n"))
	}
	if lines != sum.Resources {
		tb.Fatalf("%d lines in the files, the summary says %d resources", lines, sum.Resources)
	}
	return files
}

func TestSplit(t *testing.T) {
	files := write(t, synth.Config{Patients: 100, Facilities: 3, Seed: 1}, 1000)
	for _, name := range []string{"Patient.ndjson", "Organization.ndjson", "Observation.001.ndjson", "Observation.002.ndjson"} {
		if files[name] == nil {
			t.Errorf("no %s", name)
		}
	}
	if n := bytes.Count(files["Observation.001.ndjson"], []byte("\n")); n != 1000 {
		t.Errorf("Observation.001.ndjson has %d lines, want 1000", n)
	}
	if files["Observation.ndjson"] != nil || files["Patient.001.ndjson"] != nil {
		t.Error("a type is named both as one file and as parts")
	}
}

func TestCheck(t *testing.T) {
	for _, cfg := range []synth.Config{
		{Patients: -1, Facilities: 40},
		{Patients: 10, Facilities: -1},
		{Patients: 10, Facilities: synth.MaxFacilities + 1},
	} {
		if err := synth.Stream(context.Background(), cfg, func(string, []byte) error { return nil }); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err := synth.Stream(ctx, synth.Config{Patients: 100_000, Facilities: 40, Seed: 1}, func(string, []byte) error {
		if n++; n == 1000 {
			cancel()
		}
		return nil
	})
	if err != context.Canceled {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// TestImport synthesises a data set and loads it with the importer into
// the embedded store: every resource must be accepted.
func TestImport(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	sum, err := (&synth.Writer{Dir: filepath.Join(dir, "data"), Split: 4000}).Write(ctx, synth.Config{Patients: 200, Facilities: 40, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "kartehub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := (&fhirimport.Importer{Sink: record.New(st)}).Run(ctx, []string{filepath.Join(dir, "data")})
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range got.Failures {
		if i == 5 {
			break
		}
		t.Errorf("failed: %v", f)
	}
	if len(got.Failures) > 0 || got.Resources != sum.Resources {
		t.Fatalf("imported %d of %d resources, %d failures", got.Resources, sum.Resources, len(got.Failures))
	}
	for _, ref := range []string{"Patient/pat-000001", "Organization/org-000", "Medication/med-aspirin", "Observation/obs-000200-0001"} {
		typ, id, _ := strings.Cut(ref, "/")
		if _, err := st.Read(ctx, typ, id); err != nil {
			t.Errorf("read %s: %v", ref, err)
		}
	}
}

func BenchmarkStream(b *testing.B) {
	var n int
	for b.Loop() {
		err := synth.Stream(context.Background(), synth.Config{Patients: 1000, Facilities: 40, Seed: 1}, func(_ string, res []byte) error {
			n++
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "resources/s")
}
