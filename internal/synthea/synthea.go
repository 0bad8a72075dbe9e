// Package synthea finds and reads the Synthea sample (100 patients as FHIR
// R4 transaction Bundles, with the hospital and practitioner Bundles they
// share) that kartehub's import tests and benchmarks load. The sample lives
// outside the repository, in ../shared/data/synthea.
package synthea

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// Entries is the number of entries in the sample's Bundles.
const Entries = 28245

// Dir returns the sample's directory, found from this source file so that
// tests of any package reach it, or "" if the checkout has no such folder.
func Dir() string {
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return ""
	}
	dir := filepath.Join(filepath.Dir(self), "..", "..", "..", "shared", "data", "synthea")
	if _, err := os.Stat(dir); err != nil {
		return ""
	}
	return dir
}

// Files lists the Bundles in dir in the order they should be loaded: the
// hospital and practitioner Bundles first, then the patients by name.
func Files(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no Synthea bundles in %s", dir)
	}
	sort.Strings(files)
	sort.SliceStable(files, func(i, j int) bool { return shared(files[i]) && !shared(files[j]) })
	return files, nil
}

func shared(path string) bool {
	b := filepath.Base(path)
	return strings.HasPrefix(b, "hospitalInformation") || strings.HasPrefix(b, "practitionerInformation")
}

// Bundle is what one file of the sample holds.
type Bundle struct {
	Path string
	// Refs are the "Type/id" of each entry, with the id its urn:uuid
	// fullUrl gives, as kartehub's import stores it.
	Refs []string
}

// Read reads the entries of the Bundles at paths.
func Read(paths []string) ([]Bundle, error) {
	var out []Bundle
	for _, p := range paths {
		b, err := readBundle(p)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

func readBundle(path string) (Bundle, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Bundle{}, err
	}
	var doc struct {
		Entry []struct {
			FullURL  string `json:"fullUrl"`
			Resource struct {
				ResourceType string `json:"resourceType"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return Bundle{}, fmt.Errorf("%s: %w", path, err)
	}
	b := Bundle{Path: path}
	for _, e := range doc.Entry {
		id, ok := strings.CutPrefix(e.FullURL, "urn:uuid:")
		if !ok {
			return Bundle{}, fmt.Errorf("%s: fullUrl %q is not a urn:uuid", path, e.FullURL)
		}
		b.Refs = append(b.Refs, e.Resource.ResourceType+"/"+strings.ToLower(id))
	}
	return b, nil
}
