package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ncruces/go-sqlite3"

	"kartehub/internal/fhir"
)

// ResourceBytes reads the Bundles in files and returns, per file, the JSON
// of each entry's resource: the bytes a bare insert baseline writes.
func ResourceBytes(files []string) ([][][]byte, int, error) {
	var out [][][]byte
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, 0, err
		}
		b, err := fhir.ParseObject(data)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", f, err)
		}
		v, _ := b.Get("entry")
		entries, _ := v.([]fhir.Value)
		var res [][]byte
		for _, e := range entries {
			if obj, ok := e.(*fhir.Object); ok && obj.Object("resource") != nil {
				res = append(res, fhir.Append(nil, obj.Object("resource")))
			}
		}
		out, n = append(out, res), n+len(res)
	}
	return out, n, nil
}

// RawInserts inserts the resources into a bare SQLite table, one
// transaction per file, with the page size and durability settings of
// kartehub's own store (8 KiB pages, WAL, synchronous=FULL), and returns
// the time taken.
func RawInserts(dir string, files [][][]byte) (time.Duration, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, err
	}
	db, err := sqlite3.Open(filepath.Join(dir, "raw.db"))
	if err != nil {
		return 0, err
	}
	defer db.Close()
	for _, p := range []string{"PRAGMA page_size=8192", "PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
		"CREATE TABLE raw (id INTEGER PRIMARY KEY, body BLOB NOT NULL)"} {
		if err := db.Exec(p); err != nil {
			return 0, err
		}
	}
	st, _, err := db.Prepare("INSERT INTO raw (body) VALUES (?)")
	if err != nil {
		return 0, err
	}
	defer st.Close()
	start := time.Now()
	for _, file := range files {
		if err := db.Exec("BEGIN"); err != nil {
			return 0, err
		}
		for _, body := range file {
			st.BindBlob(1, body)
			if err := st.Exec(); err != nil {
				return 0, err
			}
		}
		if err := db.Exec("COMMIT"); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}
