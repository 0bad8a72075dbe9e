package fhirimport

import (
	"fmt"
	"strings"
	"sync/atomic"
	"time"
)

// showProgress draws progress until the returned stop is called.
func (im *Importer) showProgress(done, total *atomic.Int64, start time.Time) (stop func()) {
	if im.Progress == nil {
		return func() {}
	}
	every := 5 * time.Second
	if im.Interactive {
		every = 200 * time.Millisecond
	}
	quit := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				im.draw(done.Load(), int(total.Load()), start, false)
			case <-quit:
				im.draw(done.Load(), int(total.Load()), start, true)
				return
			}
		}
	}()
	return func() { close(quit); <-finished }
}

func (im *Importer) draw(n int64, total int, start time.Time, last bool) {
	secs := time.Since(start).Seconds()
	rate := float64(n) / max(secs, 1e-3)
	frac := 0.0
	if total > 0 {
		frac = min(float64(n)/float64(total), 1)
	}
	const width = 30
	bar := strings.Repeat("=", int(frac*width)) + strings.Repeat(" ", width-int(frac*width))
	line := fmt.Sprintf("[%s] %d/%d resources %3.0f%% %7.0f/s", bar, n, total, frac*100, rate)
	switch {
	case im.Interactive && last:
		fmt.Fprintf(im.Progress, "\r%s\n", line)
	case im.Interactive:
		fmt.Fprintf(im.Progress, "\r%s", line)
	default: // a line every few seconds, and the final one
		fmt.Fprintln(im.Progress, line)
	}
}
