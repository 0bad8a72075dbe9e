package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"kartehub/internal/karte"
	"kartehub/internal/server"
	"kartehub/internal/server/servertest"
)

// BenchmarkGuardedRead reads one Observation through the whole guarded
// server: token check, authorisation, the read, and the durable audit
// event, from 64 concurrent clients (b.SetParallelism).
func BenchmarkGuardedRead(b *testing.B) {
	st := openStore(b)
	env := servertest.Start(b, st, nil)
	seed(b, env, orgA, patient("pa", "A"), observation("opa", "pa"))
	c := env.Client(env.ClientToken(b, "system/*.rs", []string{karte.RolePhysician}))
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Get(env.Base + "/Observation/opa")
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
	c := hs.Client()
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Get(hs.URL + "/fhir/Observation/opa")
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
