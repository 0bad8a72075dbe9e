package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestGenerated checks that params_r4.go is what gen makes of the R4
// definitions, when they are at hand (see ../../doc.go).
func TestGenerated(t *testing.T) {
	const defs = "/tmp/r4ex/package"
	if _, err := os.Stat(filepath.Join(defs, "SearchParameter-Patient-name.json")); err != nil {
		t.Skipf("R4 definitions not at %s", defs)
	}
	out := filepath.Join(t.TempDir(), "params_r4.go")
	if err := run(defs, out); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../params_r4.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("params_r4.go is stale: run go generate ./internal/searchparam")
	}
}
