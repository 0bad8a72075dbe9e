package sqlite

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/ncruces/go-sqlite3/vfs"
)

// countingFile counts the writes that reach a real file.
type countingFile struct {
	vfs.File
	writes int
}

func (c *countingFile) WriteAt(p []byte, off int64) (int, error) {
	c.writes++
	return c.File.WriteAt(p, off)
}

// frame returns the header and page of a WAL frame of page pgno; commit
// is the database size it records, nonzero in a commit's last frame.
func frame(pgno, commit uint32, fill byte) (header, page []byte) {
	header = make([]byte, walFrameHeader)
	binary.BigEndian.PutUint32(header, pgno)
	binary.BigEndian.PutUint32(header[4:], commit)
	return header, bytes.Repeat([]byte{fill}, 512)
}

// TestWALFile: the frames of a commit reach the file in one write, at the
// end of the commit's last frame; what is held back is written before a
// read, and a write elsewhere in the file keeps the order of the writes.
func TestWALFile(t *testing.T) {
	// A temporary file of the OS VFS: deleted when closed.
	f, _, err := vfs.Find("os").Open("", vfs.OPEN_TEMP_JOURNAL|vfs.OPEN_CREATE|vfs.OPEN_READWRITE|vfs.OPEN_DELETEONCLOSE)
	if err != nil {
		t.Fatal(err)
	}
	real := &countingFile{File: f}
	w := &walFile{File: real}
	defer w.Close()

	var off int64
	write := func(pgno, commit uint32, fill byte) {
		t.Helper()
		h, p := frame(pgno, commit, fill)
		for _, b := range [][]byte{h, p} {
			if _, err := w.WriteAt(b, off); err != nil {
				t.Fatal(err)
			}
			off += int64(len(b))
		}
	}
	write(1, 0, 'a')
	write(2, 0, 'b')
	if real.writes != 0 {
		t.Fatalf("%d writes before the commit's last frame, want 0", real.writes)
	}
	write(3, 3, 'c')
	if real.writes != 1 {
		t.Fatalf("%d writes for a commit of three frames, want 1", real.writes)
	}

	// A frame rewritten in place, then one at the end: both reach the
	// file, in order, once read.
	h, p := frame(2, 0, 'B')
	w.WriteAt(h, walFrameHeader+512)
	w.WriteAt(p, 2*walFrameHeader+512)
	write(4, 0, 'd')
	got := make([]byte, 512)
	if _, err := w.ReadAt(got, 2*walFrameHeader+512); err != nil || got[0] != 'B' {
		t.Fatalf("read of the rewritten frame: %q, %v", got[:1], err)
	}
	if _, err := w.ReadAt(got, 4*walFrameHeader+3*512); err != nil || got[0] != 'd' {
		t.Fatalf("read of the frame held back: %q, %v", got[:1], err)
	}
	if size, err := w.Size(); err != nil || size != off {
		t.Fatalf("size %d, %v; want %d", size, err, off)
	}
}
