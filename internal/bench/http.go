package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Target is the server a benchmark loads: its FHIR base URL, and the
// access token to send, if the server asks for one.
type Target struct {
	Base  string
	Token string
}

// Client returns an HTTP client sized for n concurrent connections to one
// host, that sends the target's token.
func (t Target) Client(n int) *http.Client {
	var rt http.RoundTripper = &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n}
	if t.Token != "" {
		rt = bearer{token: t.Token, next: rt}
	}
	return &http.Client{Transport: rt, Timeout: 30 * time.Second}
}

// bearer adds an Authorization header to every request.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// load runs clients goroutines that each call do in a loop for d, timing
// every call.
func (t Target) load(ctx context.Context, clients int, d time.Duration, do func(c *http.Client, rnd *rand.Rand) error) Latencies {
	return t.run(ctx, clients, d, 42, do).summarise()
}

// samples are the timings of a load's calls.
type samples struct {
	took    []time.Duration
	errors  int
	elapsed time.Duration
}

func (s samples) summarise() Latencies { return summarise(s.took, s.errors, s.elapsed) }

// rate is the requests a second.
func (s samples) rate() float64 { return float64(len(s.took)) / max(s.elapsed.Seconds(), 1e-9) }

// add adds the timings of o, a load that ran after s.
func (s *samples) add(o samples) {
	s.took, s.errors, s.elapsed = append(s.took, o.took...), s.errors+o.errors, s.elapsed+o.elapsed
}

// run is load, returning every timing; seed picks the clients' random
// sequences.
func (t Target) run(ctx context.Context, clients int, d time.Duration, seed uint64, do func(c *http.Client, rnd *rand.Rand) error) samples {
	// The token is set on each request (t.request), not by the bearer
	// transport, whose copy of every request would cost the load, which
	// shares the machine with the server, more than the server's check.
	c := Target{Base: t.Base}.Client(clients)
	defer c.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var mu sync.Mutex
	var all samples
	var wg sync.WaitGroup
	start := time.Now()
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(i), seed))
			var mine []time.Duration
			bad := 0
			for ctx.Err() == nil {
				t := time.Now()
				if err := do(c, rnd); err != nil {
					bad++
					continue
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			all.took, all.errors = append(all.took, mine...), all.errors+bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	all.elapsed = time.Since(start)
	return all
}

// Reads measures GET base/{ref} of random refs ("Patient/123").
func Reads(ctx context.Context, t Target, refs []string, clients int, d time.Duration) Latencies {
	return t.load(ctx, clients, d, t.reader(refs))
}

// CompareReads measures the reads of Reads on targets a and b in turns,
// for d/turns at a time and d in all on each, so that both meet the
// machine alike: on a shared machine its speed drifts by tens of percent
// within a minute, and a comparison of one run after the other measures
// the drift as much as the targets. ratios are b's rate over a's in each
// turn, which show how far the machine moved meanwhile.
func CompareReads(ctx context.Context, a, b Target, refs []string, clients int, d time.Duration, turns int) (la, lb Latencies, ratios []float64) {
	turns = max(turns, 1)
	var sa, sb samples
	for i := range turns {
		seed, each := uint64(i), d/time.Duration(turns)
		ta := a.run(ctx, clients, each, seed, a.reader(refs))
		tb := b.run(ctx, clients, each, seed, b.reader(refs))
		ratios = append(ratios, tb.rate()/ta.rate())
		sa.add(ta)
		sb.add(tb)
	}
	return sa.summarise(), sb.summarise(), ratios
}

// reader is a call of Reads.
func (t Target) reader(refs []string) func(c *http.Client, rnd *rand.Rand) error {
	return func(c *http.Client, rnd *rand.Rand) error {
		return t.get(c, t.Base+"/"+refs[rnd.IntN(len(refs))])
	}
}

// request returns a request with the target's token.
func (t Target) request(method, url string, body io.Reader) (*http.Request, error) {
	r, err := http.NewRequest(method, url, body)
	if err == nil && t.Token != "" {
		r.Header.Set("Authorization", "Bearer "+t.Token)
	}
	return r, err
}

func (t Target) get(c *http.Client, url string) error {
	req, err := t.request(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// Transactions measures POST base of transaction Bundles, each a new
// Patient and an Observation that refers to it by urn:uuid.
func Transactions(ctx context.Context, t Target, clients int, d time.Duration) Latencies {
	return t.load(ctx, clients, d, func(c *http.Client, rnd *rand.Rand) error {
		r, err := t.request(http.MethodPost, t.Base, bytes.NewReader(transactionBody(rnd)))
		if err != nil {
			return err
		}
		r.Header.Set("Content-Type", "application/fhir+json")
		resp, err := c.Do(r)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("transaction: %s", resp.Status)
		}
		return nil
	})
}

func transactionBody(rnd *rand.Rand) []byte {
	u := fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", rnd.Uint32(), rnd.IntN(1<<16), rnd.IntN(1<<12), rnd.IntN(1<<12), rnd.Uint64()&(1<<48-1))
	mrn := rnd.Uint64() % 1e10
	return fmt.Appendf(nil, `{"resourceType":"Bundle","type":"transaction","entry":[
{"fullUrl":"urn:uuid:%[1]s","resource":{"resourceType":"Patient","identifier":[{"system":"urn:oid:1.2.392.100495.20.3.51.11234567890","value":"%010[2]d"}],
 "name":[{"family":"山田","given":["太郎"]}],"gender":"male","birthDate":"1950-04-01"},"request":{"method":"POST","url":"Patient"}},
{"resource":{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}]},
 "subject":{"reference":"urn:uuid:%[1]s"},"effectiveDateTime":"2026-11-25T09:30:00+09:00","valueQuantity":{"value":%[3]d,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}},
 "request":{"method":"POST","url":"Observation"}}]}`, u, mrn, 50+rnd.IntN(60))
}
