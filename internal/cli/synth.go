package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"kartehub/internal/synth"
)

func runSynth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("synth", stderr)
	patients := fs.Int("patients", 0, "number of patients (about 50 resources each)")
	out := fs.String("out", "", "directory to write the NDJSON files into (new or empty)")
	seed := fs.Uint64("seed", 1, "seed: the same flags give the same files, byte for byte")
	facilities := fs.Int("facilities", synth.DefaultFacilities, fmt.Sprintf("satellite clinics besides the hub (0 to %d)", synth.MaxFacilities))
	split := fs.Int("split", synth.DefaultSplit, "most resources in one file")
	quiet := fs.Bool("quiet", false, "no progress display")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("synth takes no arguments, got %q (use --out DIR)", fs.Arg(0))
	case *patients < 1:
		return fmt.Errorf("--patients must be at least 1, not %d", *patients)
	case *out == "":
		return fmt.Errorf("synth needs --out DIR")
	case *facilities < 0 || *facilities > synth.MaxFacilities:
		return fmt.Errorf("--facilities must be between 0 and %d, not %d", synth.MaxFacilities, *facilities)
	case *split < 1:
		return fmt.Errorf("--split must be at least 1, not %d", *split)
	}
	cfg := synth.Config{Patients: *patients, Facilities: *facilities, Seed: *seed}
	if err := cfg.Check(); err != nil {
		return fmt.Errorf("--patients: %w", err)
	}
	// Files of an earlier run would be imported along with the new ones.
	if entries, err := os.ReadDir(*out); err == nil && len(entries) > 0 {
		return fmt.Errorf("--out %s is not empty: choose a new or empty directory", *out)
	}
	w := &synth.Writer{Dir: *out, Split: *split}
	if !*quiet {
		w.Progress = stderr
	}
	sum, err := w.Write(ctx, cfg)
	if err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	fmt.Fprintf(stdout, "%s into %s\n", sum, *out)
	return nil
}
