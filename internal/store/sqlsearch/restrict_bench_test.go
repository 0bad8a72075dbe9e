package sqlsearch_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"kartehub/internal/fhir"
	"kartehub/internal/karte"
	"kartehub/internal/search"
	"kartehub/internal/searchparam"
	"kartehub/internal/store/postgres"
	"kartehub/internal/store/postgres/pgtest"
	"kartehub/internal/store/sqlite"
	"kartehub/internal/synth"
)

// The restriction benchmarks time the patient-scoped queries of "kartehub
// bench search", and searches across patients, on synthetic data, straight
// on the store (without HTTP and JSON, so that the restriction's share of
// the time is not diluted), for 200 random patients in four modes:
// unrestricted (none), restricted to the patient's facility (home), to it
// and another (home+other), and to another only (other: nothing of the
// patient matches). They report the median time of each mode, in µs.
//
//	go test ./internal/store/sqlsearch -run '^$' -bench Restrict -benchtime 2000x
//
// By default they generate benchPatients patients into a temporary
// database. KARTEHUB_BENCH_SQLITE names an SQLite database to use instead,
// such as the one "kartehub bench search --data DIR" keeps in
// DIR/kartehub.db (1M resources for --patients 20000); it is loaded with
// KARTEHUB_BENCH_PATIENTS patients if it is empty. The PostgreSQL
// benchmark loads a database of its own (pgtest) unless
// KARTEHUB_BENCH_POSTGRES gives a DSN.

const benchPatients = 1000

// benchQueries are the patient-scoped queries of "kartehub bench search",
// where %[1]s is a patient's id, and searches across patients.
var benchQueries = []struct{ name, typ, query string }{
	{"troponin", "Observation", "patient=Patient/%[1]s&code=http://loinc.org|67151-1&_sort=-date"},
	{"medications", "MedicationRequest", "patient=Patient/%[1]s&_include=MedicationRequest:medication"},
	{"conditions", "Condition", "patient=Patient/%[1]s"},
	// A page of the patient's compartment with its total (not in the
	// command's list): the restriction tested on every match, twice.
	{"compartment-page", "Observation", "patient=Patient/%[1]s&_sort=-date&_count=50&_total=accurate"},
	// Searches of no one patient, as a ward or a clinic runs them: the
	// restriction is tested on every resource the other criteria select.
	{"troponin-count", "Observation", "code=http://loinc.org|67151-1&_summary=count"},
	{"troponin-page", "Observation", "code=http://loinc.org|67151-1&_sort=-date&_count=20"},
	{"encounters-since", "Encounter", "date=ge2025-06-01&_count=50"},
}

func BenchmarkRestrictSQLite(b *testing.B) {
	path := os.Getenv("KARTEHUB_BENCH_SQLITE")
	if path == "" {
		path = filepath.Join(b.TempDir(), "kartehub.db")
	}
	st, err := sqlite.Open(b.Context(), path)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	benchRestrict(b, st, nil)
}

func BenchmarkRestrictPostgres(b *testing.B) {
	dsn := os.Getenv("KARTEHUB_BENCH_POSTGRES")
	if dsn == "" {
		dsn = pgtest.NewDatabase(b)
	}
	st, err := postgres.Open(b.Context(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	// Without statistics, as right after a bulk load, PostgreSQL plans
	// the restriction far worse than it would once autovacuum has run.
	analyze := func() {
		conn, err := pgx.Connect(b.Context(), dsn)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close(b.Context())
		if _, err := conn.Exec(b.Context(), "ANALYZE"); err != nil {
			b.Fatal(err)
		}
	}
	benchRestrict(b, st, analyze)
}

type benchStore interface {
	karte.Store
	karte.Searcher
}

// patientLinks is what the record service gives a Restriction.
var patientLinks = sync.OnceValue(func() map[string][]string {
	def, _ := searchparam.Compartment("Patient")
	links := map[string][]string{}
	for _, t := range def.Types() {
		for _, p := range def.Params(t) {
			if t != "Patient" && p != searchparam.DefParam {
				links[t] = append(links[t], p)
			}
		}
	}
	return links
})

// benchEngine parses queries and indexes the synthetic data, with the
// Consent parameter of the restriction registered.
func benchEngine(tb testing.TB) *search.Engine {
	reg := searchparam.New()
	err := reg.Add(&searchparam.Param{URL: karte.ShareParamURL, Code: karte.ShareParamCode, Name: "sharePermit",
		Type: searchparam.Token, Base: "Consent", Expression: karte.ShareParamExpression})
	if err != nil {
		tb.Fatal(err)
	}
	return search.New(reg)
}

// benchRestrict runs the benchmark on st, loading it first if it is
// empty, and then calling loaded if it is not nil.
func benchRestrict(b *testing.B, st benchStore, loaded func()) {
	ctx := b.Context()
	eng := benchEngine(b)
	n := count(b, st, "Patient")
	if n == 0 {
		patients := benchPatients
		if s := os.Getenv("KARTEHUB_BENCH_PATIENTS"); s != "" {
			fmt.Sscan(s, &patients)
		}
		start := time.Now()
		if err := load(ctx, st, eng, patients); err != nil {
			b.Fatal(err)
		}
		n = count(b, st, "Patient")
		b.Logf("loaded %d patients in %s", n, time.Since(start).Round(time.Second))
		if loaded != nil {
			loaded()
		}
	}
	b.Logf("%d resources, %d patients", count(b, st, ""), n)

	// A sample of patients with their facility, and another facility.
	rnd := rand.New(rand.NewPCG(7, 7))
	type sample struct{ id, home, other string }
	var ps []sample
	for len(ps) < 200 {
		id := fmt.Sprintf("pat-%06d", 1+rnd.IntN(n))
		res, err := st.Read(ctx, "Patient", id)
		if err != nil {
			b.Fatal(err)
		}
		obj, err := fhir.ParseObject(res.Body)
		if err != nil {
			b.Fatal(err)
		}
		home := strings.TrimPrefix(obj.Object("managingOrganization").String("reference"), "Organization/")
		other := "org-001"
		if home == other {
			other = "org-002"
		}
		ps = append(ps, sample{id, home, other})
	}
	modes := []string{"none", "home", "home+other", "other"}
	for _, bq := range benchQueries {
		qs := make([][]*karte.Query, len(modes)) // by mode, then patient
		for m, mode := range modes {
			for _, p := range ps {
				query := bq.query
				if strings.Contains(query, "%[1]s") {
					query = fmt.Sprintf(query, p.id)
				}
				vals, err := url.ParseQuery(query)
				if err != nil {
					b.Fatal(err)
				}
				req, err := eng.Parse(ctx, []string{bq.typ}, vals, true)
				if err != nil {
					b.Fatal(err)
				}
				rs := &karte.Restriction{Links: patientLinks(), SharePermitParam: karte.ShareParamCode}
				switch mode {
				case "none":
					rs = nil
				case "home":
					rs.Facilities = []string{p.home}
				case "home+other":
					rs.Facilities = []string{p.home, p.other}
				case "other":
					rs.Facilities = []string{p.other}
				}
				req.Query.Restrict = rs
				qs[m] = append(qs[m], req.Query)
			}
		}
		// Each iteration runs the query once in every mode, for the same
		// patient, so that a machine busy with other work slows all modes
		// alike; the medians are compared.
		b.Run(bq.name, func(b *testing.B) {
			took := make([][]time.Duration, len(modes))
			found := make([]int, len(modes))
			i := 0
			for b.Loop() {
				for m := range modes {
					start := time.Now()
					res, err := st.Search(ctx, qs[m][i%len(ps)])
					if err != nil {
						b.Fatal(err)
					}
					took[m] = append(took[m], time.Since(start))
					found[m] += len(res.Matches)
				}
				i++
			}
			for m, mode := range modes {
				slices.Sort(took[m])
				b.ReportMetric(float64(took[m][len(took[m])/2].Microseconds()), mode+"-p50-µs")
			}
			b.ReportMetric(float64(found[0])/float64(i), "matches/op")
			b.ReportMetric(float64(found[1])/float64(i), "home-matches/op")
		})
	}
}

// count counts the resources of typ ("": all).
func count(tb testing.TB, st benchStore, typ string) int {
	q := &karte.Query{Total: true}
	if typ != "" {
		q.Types = []string{typ}
	}
	res, err := st.Search(tb.Context(), q)
	if err != nil {
		tb.Fatal(err)
	}
	return res.Total
}

// load writes the synthetic data of patients patients, indexed, in
// batches, and a Consent for one patient in 50 that shares their record
// with the hub (org-000).
func load(ctx context.Context, st karte.Store, eng *search.Engine, patients int) error {
	when := time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)
	type item struct {
		r  *karte.Resource
		ix *karte.Index
	}
	var batch []item
	flush := func() error {
		err := st.Write(ctx, func(tx karte.Tx) error {
			for _, it := range batch {
				if err := tx.Put(ctx, it.r, it.ix); err != nil {
					return err
				}
			}
			return nil
		})
		batch = batch[:0]
		return err
	}
	add := func(body []byte) error {
		obj, err := fhir.ParseObject(body)
		if err != nil {
			return err
		}
		r := &karte.Resource{Type: obj.String("resourceType"), ID: obj.String("id"), VersionID: 1,
			LastUpdated: when, Method: "PUT", Body: bytes.Clone(body)}
		batch = append(batch, item{r, eng.Index(obj)})
		if len(batch) == 500 {
			return flush()
		}
		return nil
	}
	err := synth.Stream(ctx, synth.Config{Patients: patients, Facilities: synth.DefaultFacilities, Seed: 1}, func(_ string, res []byte) error {
		return add(res)
	})
	if err != nil {
		return err
	}
	for i := 50; i <= patients; i += 50 {
		c := fmt.Sprintf(`{"resourceType":"Consent","id":"share-%06d","status":"active",`+
			`"scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},`+
			`"category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],"patient":{"reference":"Patient/pat-%06d"},`+
			`"provision":{"type":"permit","actor":[{"role":{"text":"custodian"},"reference":{"reference":"Organization/org-000"}}]}}`, i, i)
		if err := add([]byte(c)); err != nil {
			return err
		}
	}
	return flush()
}
