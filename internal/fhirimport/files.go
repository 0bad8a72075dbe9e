package fhirimport

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// expand turns the paths given into the files to load, in order: each
// path's files in name order, directories searched recursively.
func expand(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			if !isData(p) {
				return nil, fmt.Errorf("%s: not a .json or .ndjson file", p)
			}
			files = append(files, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && isData(path) {
				found = append(found, path)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no .json or .ndjson files in %s", strings.Join(paths, ", "))
	}
	return files, nil
}

func isData(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	return ext == ".json" || ext == ".ndjson"
}

func isNDJSON(path string) bool { return strings.EqualFold(filepath.Ext(path), ".ndjson") }
