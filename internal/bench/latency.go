package bench

import (
	"fmt"
	"slices"
	"time"
)

// Latencies summarises request timings.
type Latencies struct {
	N        int
	Errors   int
	Elapsed  time.Duration
	P50, P99 time.Duration
	Max      time.Duration
}

func summarise(samples []time.Duration, errors int, elapsed time.Duration) Latencies {
	slices.Sort(samples)
	l := Latencies{N: len(samples), Errors: errors, Elapsed: elapsed}
	if len(samples) > 0 {
		l.P50 = samples[len(samples)*50/100]
		l.P99 = samples[min(len(samples)*99/100, len(samples)-1)]
		l.Max = samples[len(samples)-1]
	}
	return l
}

// Rate is completed requests per second.
func (l Latencies) Rate() float64 { return float64(l.N) / l.Elapsed.Seconds() }

func (l Latencies) String() string {
	return fmt.Sprintf("%d requests in %.1f s: %.0f/s, p50 %s, p99 %s, max %s, %d errors",
		l.N, l.Elapsed.Seconds(), l.Rate(), ms(l.P50), ms(l.P99), ms(l.Max), l.Errors)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/1e6) }
