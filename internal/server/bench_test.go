package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"kartehub/internal/karte"
	"kartehub/internal/server"
	"kartehub/internal/server/servertest"
)

// BenchmarkGuardedRead reads one Observation through the whole guarded
// server: token check, authorisation, the read, and the durable audit
// event, from 64 concurrent clients.
func BenchmarkGuardedRead(b *testing.B) {
	st := openStore(b)
	env := servertest.Start(b, st, nil)
	seed(b, env, orgA, patient("pa", "A"), observation("opa", "pa"))
	token := env.ClientToken(b, "system/*.rs", []string{karte.RolePhysician})
	before := env.Server.AuditStats()
	readInParallel(b, env.Base+"/Observation/opa", token)
	after := env.Server.AuditStats()
	b.ReportMetric(float64(after.Records-before.Records)/float64(max(after.Batches-before.Batches, 1)), "events/commit")
}

// BenchmarkOpenRead is BenchmarkGuardedRead without authorisation and
// audit: the baseline of the ratio that `kartehub bench` prints.
func BenchmarkOpenRead(b *testing.B) {
	st := openStore(b)
	env := servertest.Start(b, st, nil)
	seed(b, env, orgA, patient("pa", "A"), observation("opa", "pa"))
	srv, err := server.New(context.Background(), server.Config{Store: st, BaseURL: env.Base, Unguarded: true})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	readInParallel(b, hs.URL+"/fhir/Observation/opa", "")
}

// readInParallel GETs url from 64 concurrent clients, with the token if
// there is one.
func readInParallel(b *testing.B, url, token string) {
	inParallel(b, 64, func() (*http.Request, error) {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err == nil && token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return req, err
	})
}

// inParallel sends the requests that next makes from clients concurrent
// clients (b.SetParallelism) over kept-alive connections, and fails on
// any answer but 200.
func inParallel(b *testing.B, clients int, next func() (*http.Request, error)) {
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
	defer c.CloseIdleConnections()
	b.SetParallelism(clients / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, err := next()
			if err != nil {
				b.Fatal(err)
			}
			resp, err := c.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatal(resp.Status)
			}
		}
	})
}

// BenchmarkGuardedTransaction posts transaction Bundles of a new Patient
// and an Observation that refers to it, through the whole guarded server,
// from 8 concurrent clients: the transaction load of `kartehub bench`.
func BenchmarkGuardedTransaction(b *testing.B) {
	st := openStore(b)
	env := servertest.Start(b, st, nil)
	seed(b, env, orgA)
	token := env.ClientToken(b, "system/*.cruds", []string{karte.RolePhysician})
	var n atomic.Int64
	inParallel(b, 8, func() (*http.Request, error) {
		req, err := http.NewRequest(http.MethodPost, env.Base, strings.NewReader(transactionBundle(n.Add(1))))
		if err == nil {
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/fhir+json")
		}
		return req, err
	})
}

func transactionBundle(i int64) string {
	return fmt.Sprintf(`{"resourceType":"Bundle","type":"transaction","entry":[
{"fullUrl":"urn:uuid:00000000-0000-4000-8000-%012d","resource":{"resourceType":"Patient","managingOrganization":{"reference":"Organization/A"},
 "identifier":[{"system":"urn:oid:1.2.392.100495.20.3.51.11234567890","value":"%010d"}],"name":[{"family":"山田","given":["太郎"]}]},
 "request":{"method":"POST","url":"Patient"}},
{"resource":{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},
 "subject":{"reference":"urn:uuid:00000000-0000-4000-8000-%012d"},"valueQuantity":{"value":72,"unit":"/min"}},
 "request":{"method":"POST","url":"Observation"}}]}`, i, i, i)
}
