package audit_test

import (
	"crypto/ed25519"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"kartehub/internal/audit"
	"kartehub/internal/audit/audittest"
	"kartehub/internal/karte"
)

// entries parses "name=value" pairs.
func entries(pairs ...string) []karte.AuditIndexEntry {
	var out []karte.AuditIndexEntry
	for _, p := range pairs {
		name, value, _ := strings.Cut(p, "=")
		out = append(out, karte.AuditIndexEntry{Name: name, Value: value})
	}
	slices.SortFunc(out, audit.CompareIndexEntries)
	return out
}

const (
	restType = "http://terminology.hl7.org/CodeSystem/audit-event-type|rest"
	dcmType  = "http://dicom.nema.org/resources/ontology/DCM|"
)

// TestIndexEvents derives the index of the events the server records, as
// Event.JSON writes them.
func TestIndexEvents(t *testing.T) {
	evs := events()
	for _, tc := range []struct {
		event string
		want  []karte.AuditIndexEntry
	}{
		{"read", entries(
			"type=rest", "type="+restType, "subtype=read", "subtype=http://hl7.org/fhir/restful-interaction|read",
			"action=R", "outcome=0",
			"agent=emr-viewer", "agent=Practitioner/dr-sato", "agent=sato.hanako", "address=10.20.30.40",
			"patient=Patient/p1", "entity=Observation/o1", "entity=Patient/p1",
			"entity-id=6c1b7f0e-5d7a-4b6e-9d8e-0f1a2b3c4d5e",
		)},
		{"search-type", entries(
			"type=rest", "type="+restType, "subtype=search-type", "subtype=http://hl7.org/fhir/restful-interaction|search-type",
			"action=E", "outcome=0",
			"agent=emr-viewer", "agent=Practitioner/dr-sato", "agent=sato.hanako", "address=10.20.30.40",
			"patient=Patient/p1", "patient=Patient/p2", "entity=Patient/p1", "entity=Patient/p2",
		)},
		{"vread", entries(
			"type=rest", "type="+restType, "subtype=vread", "subtype=http://hl7.org/fhir/restful-interaction|vread",
			"action=R", "outcome=0",
			"agent=emr-viewer", "agent=Practitioner/dr-sato", "agent=sato.hanako", "address=10.20.30.40",
			"patient=Patient/p1", "entity=Patient/p1", "entity=Patient/p1/_history/2",
		)},
		{"denied", entries(
			"type=rest", "type="+restType, "subtype=read", "subtype=http://hl7.org/fhir/restful-interaction|read",
			"action=R", "outcome=4",
			"agent=emr-viewer", "agent=Practitioner/dr-sato", "agent=sato.hanako", "address=10.20.30.40",
			"patient=Patient/p3", "entity=Patient/p3",
		)},
		{"no user", entries(
			"type=rest", "type="+restType, "subtype=create", "subtype=http://hl7.org/fhir/restful-interaction|create",
			"action=C", "outcome=0", "agent=lab-system", "address=10.1.1.1", "entity=Observation/o9",
		)},
		{"hl7v2 feed", entries(
			"type=110110", "type="+dcmType+"110110", "action=U", "outcome=0", "agent=RIS^HOSP",
			"patient=Patient/p4", "entity=Patient/p4",
		)},
		{"failed", entries(
			"type=110114", "type="+dcmType+"110114", "subtype=110122", "subtype="+dcmType+"110122",
			"action=E", "outcome=4", "agent=emr-viewer", "agent=sato.hanako", "address=10.20.30.40",
		)},
		{"logout", entries(
			"type=110114", "type="+dcmType+"110114", "subtype=110123", "subtype="+dcmType+"110123",
			"action=E", "outcome=0", "agent=Practitioner/dr-sato", "agent=sato.hanako",
		)},
		// The server's own agent adds nothing: its address is the base URL.
		{"start", entries(
			"type=110100", "type="+dcmType+"110100", "subtype=110120", "subtype="+dcmType+"110120",
			"action=E", "outcome=0",
		)},
	} {
		t.Run(tc.event, func(t *testing.T) {
			data, err := evs[tc.event].JSON(recorded, source)
			if err != nil {
				t.Fatal(err)
			}
			got, err := audit.Index(data)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("Index:\n%v\nwant\n%v", got, tc.want)
			}
		})
	}
	// Every event's index is sorted, without duplicates, and names a type.
	for name, e := range evs {
		data, err := e.JSON(recorded, source)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := audit.Index(data)
		if !slices.IsSortedFunc(got, audit.CompareIndexEntries) || len(slices.Compact(slices.Clone(got))) != len(got) {
			t.Errorf("%s: not sorted or not distinct: %v", name, got)
		}
		if !slices.ContainsFunc(got, func(e karte.AuditIndexEntry) bool { return e.Name == audit.IndexType }) {
			t.Errorf("%s: no type: %v", name, got)
		}
	}
}

// TestIndexJSON covers what the server's events do not have yet, but an
// AuditEvent may: altId, a patient as agent, purposeOfUse, absolute
// references.
func TestIndexJSON(t *testing.T) {
	long := strings.Repeat("x", audit.MaxIndexValue+1)
	for _, tc := range []struct {
		name, json string
		want       []karte.AuditIndexEntry
	}{
		{"empty", `{}`, nil},
		{"altId", `{"agent":[{"who":{"identifier":{"value":"u-123"}},"altId":"sato","requestor":true}]}`,
			entries("agent=u-123", "agent=sato")},
		{"patient agent", `{"agent":[{"who":{"reference":"Patient/9"},"requestor":true}]}`,
			entries("agent=Patient/9", "patient=Patient/9")},
		{"purpose", `{"agent":[{"purposeOfUse":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActReason","code":"BTG"}],"text":"cardiac arrest"}],"requestor":true}]}`,
			entries("purpose=BTG", "purpose=http://terminology.hl7.org/CodeSystem/v3-ActReason|BTG")},
		{"absolute", `{"entity":[{"what":{"reference":"https://other.example.jp/fhir/Patient/7/_history/3"}}]}`,
			entries("entity=https://other.example.jp/fhir/Patient/7", "entity=https://other.example.jp/fhir/Patient/7/_history/3",
				"patient=https://other.example.jp/fhir/Patient/7")},
		{"not a patient", `{"entity":[{"what":{"reference":"Patientx/7"}},{"what":{"reference":"Patient/"}},{"what":{"reference":"Patient"}}]}`,
			entries("entity=Patientx/7", "entity=Patient/", "entity=Patient")},
		{"duplicates", `{"entity":[{"what":{"reference":"Patient/1"}},{"what":{"reference":"Patient/1"}}],"agent":[{"who":{"reference":"Patient/1"}}]}`,
			entries("entity=Patient/1", "patient=Patient/1", "agent=Patient/1")},
		{"too long", `{"action":"` + long + `","outcome":"0"}`, entries("outcome=0")},
		{"code without system", `{"type":{"code":"x"},"subtype":[{"system":"s"}]}`, entries("type=x")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := audit.Index([]byte(tc.json))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("Index:\n%v\nwant\n%v", got, tc.want)
			}
		})
	}
	for _, bad := range []string{``, `[]`, `{"agent":`, `"x"`, `{"action":1}`} {
		if _, err := audit.Index([]byte(bad)); err == nil {
			t.Errorf("Index(%q): no error", bad)
		}
	}
}

// TestWriterIndexes: the Writer appends each record with its index.
func TestWriterIndexes(t *testing.T) {
	log := &audittest.MemLog{}
	w := audit.NewWriter(log, audit.NewChain(audittest.Key, 0), audit.WriterOptions{Source: source, Interval: -1})
	evs := events()
	for _, name := range []string{"read", "login", "start", "hl7v2 feed"} {
		if err := w.Record(t.Context(), evs[name]); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	recs, err := log.AuditRecords(t.Context(), 0, 10)
	if err != nil || len(recs) != 4 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	for _, r := range recs {
		want, _ := audit.Index(r.Event)
		if len(r.Index) == 0 || !slices.Equal(r.Index, want) {
			t.Fatalf("record %d: index %v, want %v", r.Seq, r.Index, want)
		}
	}
}

// TestVerifyIndex: Verify compares the stored index with the events.
func TestVerifyIndex(t *testing.T) {
	pub := audittest.Key.Public().(ed25519.PublicKey)
	build := func() *audittest.MemLog {
		log := &audittest.MemLog{}
		audittest.Build(t, log, 10)
		return log
	}
	// Pinning record 6 on another patient.
	log := build()
	log.Tamper(func(recs []karte.AuditRecord) []karte.AuditRecord {
		for i, e := range recs[5].Index {
			if e.Name == audit.IndexPatient {
				idx := slices.Clone(recs[5].Index)
				idx[i].Value = "Patient/p99"
				slices.SortFunc(idx, audit.CompareIndexEntries)
				recs[5].Index = idx
			}
		}
		return recs
	})
	rep, err := (&audit.Verifier{Key: pub, Every: audittest.Every}).Verify(t.Context(), log)
	var be *audit.BrokenError
	if !errors.As(err, &be) || be.Seq != 6 || be.Problem != audit.IndexMismatch ||
		!strings.Contains(be.Reason, "missing patient=Patient/p6") || !strings.Contains(be.Reason, "unexpected patient=Patient/p99") {
		t.Fatalf("Verify: %v", err)
	}
	// The chain was checked to the end.
	if rep.Records != 10 || rep.LastSeq != 10 {
		t.Fatalf("report %+v", rep)
	}
	// A log that starts unindexed (written before the index) passes.
	log = build()
	log.Tamper(func(recs []karte.AuditRecord) []karte.AuditRecord {
		for i := range 3 {
			recs[i].Index = nil
		}
		return recs
	})
	if rep, err := (&audit.Verifier{Key: pub, Every: audittest.Every}).Verify(t.Context(), log); err != nil || rep.Unindexed != 3 {
		t.Fatalf("Verify of a log indexed from record 4: %+v, %v", rep, err)
	}
	// A chain break wins over an index mismatch before it.
	log = build()
	log.Tamper(func(recs []karte.AuditRecord) []karte.AuditRecord {
		recs[2].Index = recs[2].Index[1:]
		recs[6].Time = recs[6].Time.Add(time.Second)
		return recs
	})
	if _, err := (&audit.Verifier{Key: pub, Every: audittest.Every}).Verify(t.Context(), log); !errors.As(err, &be) || be.Seq != 7 || be.Problem != audit.Altered {
		t.Fatalf("Verify: %v, want record 7 altered", err)
	}
}

func BenchmarkIndex(b *testing.B) {
	data, err := events()["read"].JSON(recorded, source)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := audit.Index(data); err != nil {
			b.Fatal(err)
		}
	}
}
