package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
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

// readInParallel GETs url from 64 concurrent clients (b.SetParallelism)
// over kept-alive connections, with the token if there is one.
func readInParallel(b *testing.B, url, token string) {
	const clients = 64
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
	defer c.CloseIdleConnections()
	b.SetParallelism(clients / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, err := http.NewRequest(http.MethodGet, url, nil)
			if err != nil {
				b.Fatal(err)
			}
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
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
