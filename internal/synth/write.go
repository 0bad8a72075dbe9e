package synth

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// DefaultSplit is how many resources an output file holds at most.
const DefaultSplit = 100_000

// Writer writes a generated data set as NDJSON files into a directory,
// one resource a line, one file per resource type: Patient.ndjson, or
// Observation.001.ndjson, Observation.002.ndjson... when a type has more
// than Split resources. The files load with "kartehub import".
type Writer struct {
	Dir string
	// Split is the most lines a file holds (default DefaultSplit).
	Split int
	// Progress, if set, receives a progress line every second or so.
	Progress io.Writer
}

// Summary reports what Write generated.
type Summary struct {
	Patients  int
	Resources int
	ByType    map[string]int
	Files     []string
	Bytes     int64
	Elapsed   time.Duration
}

// Rate is the resources generated per second.
func (s *Summary) Rate() float64 { return float64(s.Resources) / s.Elapsed.Seconds() }

func (s *Summary) String() string {
	return fmt.Sprintf("synthesised %d resources for %d patients (%.1f a patient) in %d files, %.1f MB, in %.1f s (%.0f resources/s)",
		s.Resources, s.Patients, float64(s.Resources)/float64(max(s.Patients, 1)), len(s.Files),
		float64(s.Bytes)/1e6, s.Elapsed.Seconds(), s.Rate())
}

// Write generates cfg into w.Dir, which is created if needed. Files of a
// previous run with other settings are not removed; the caller picks an
// empty directory.
func (w *Writer) Write(ctx context.Context, cfg Config) (*Summary, error) {
	start := time.Now()
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(w.Dir, 0o755); err != nil {
		return nil, err
	}
	split := w.Split
	if split <= 0 {
		split = DefaultSplit
	}
	out := &outFiles{dir: w.Dir, split: split, byType: map[string]*typeFile{}}
	sum := &Summary{ByType: map[string]int{}}
	next := start.Add(time.Second)
	emit := func(typ string, res []byte) error {
		if err := out.write(typ, res); err != nil {
			return err
		}
		sum.Resources++
		if typ == "Patient" {
			sum.Patients++
			if w.Progress != nil && sum.Patients%64 == 0 && time.Now().After(next) {
				next = time.Now().Add(time.Second)
				w.progress(sum, cfg.Patients, start)
			}
		}
		return nil
	}
	err := Stream(ctx, cfg, emit)
	if cerr := out.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	sum.Elapsed = time.Since(start)
	for typ, f := range out.byType {
		sum.ByType[typ] = f.total
		sum.Files = append(sum.Files, f.names...)
	}
	slices.Sort(sum.Files)
	sum.Bytes = out.bytes
	if w.Progress != nil {
		w.progress(sum, cfg.Patients, start)
	}
	return sum, nil
}

func (w *Writer) progress(sum *Summary, patients int, start time.Time) {
	secs := time.Since(start).Seconds()
	fmt.Fprintf(w.Progress, "synth: %d/%d patients, %d resources, %.0f resources/s\n",
		sum.Patients, patients, sum.Resources, float64(sum.Resources)/max(secs, 1e-3))
}

// outFiles is the open file of each resource type.
type outFiles struct {
	dir    string
	split  int
	byType map[string]*typeFile
	bytes  int64
}

type typeFile struct {
	typ   string
	f     *os.File
	w     *bufio.Writer
	lines int // in the current part
	total int
	names []string // the parts written, in order
}

func (o *outFiles) write(typ string, res []byte) error {
	tf := o.byType[typ]
	if tf == nil {
		tf = &typeFile{typ: typ}
		o.byType[typ] = tf
	}
	if tf.f == nil || tf.lines == o.split {
		if err := o.next(tf); err != nil {
			return err
		}
	}
	tf.w.Write(res)
	if err := tf.w.WriteByte('\n'); err != nil {
		return err
	}
	tf.lines++
	tf.total++
	o.bytes += int64(len(res) + 1)
	return nil
}

// next closes the current part of tf and opens the next.
func (o *outFiles) next(tf *typeFile) error {
	if err := tf.closePart(); err != nil {
		return err
	}
	name := filepath.Join(o.dir, fmt.Sprintf("%s.%03d.ndjson", tf.typ, len(tf.names)+1))
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	tf.f, tf.lines = f, 0
	if tf.w == nil {
		tf.w = bufio.NewWriterSize(f, 256<<10)
	} else {
		tf.w.Reset(f)
	}
	tf.names = append(tf.names, name)
	return nil
}

func (tf *typeFile) closePart() error {
	if tf.f == nil {
		return nil
	}
	err := tf.w.Flush()
	if cerr := tf.f.Close(); err == nil {
		err = cerr
	}
	tf.f = nil
	return err
}

// close closes every file, and names a type written in one part
// Type.ndjson.
func (o *outFiles) close() error {
	var first error
	for _, tf := range o.byType {
		if err := tf.closePart(); err != nil && first == nil {
			first = err
		}
		if len(tf.names) == 1 {
			single := filepath.Join(o.dir, tf.typ+".ndjson")
			if err := os.Rename(tf.names[0], single); err != nil && first == nil {
				first = err
			}
			tf.names[0] = single
		}
	}
	return first
}

// ResourceTypes are the types Stream generates, in the order it first
// emits them.
var ResourceTypes = strings.Fields("Organization Location Practitioner PractitionerRole Medication " +
	"Patient Condition AllergyIntolerance Encounter Observation DiagnosticReport Procedure MedicationRequest")
