package sqlite

import (
	"encoding/binary"
	"net/url"
	"path/filepath"

	"github.com/ncruces/go-sqlite3/vfs"
)

// walVFS is the operating system's VFS, except that the frames of a
// commit go to the WAL file in one write: SQLite writes each frame as two
// (its 24-byte header, then its page), and a transaction that touches
// thirty index pages made sixty system calls before its fsync. On a
// virtual machine each costs several microseconds of CPU, and the writer
// holds every queued write while it makes them.
type walVFS struct{ vfs.VFSFilename }

// walVFSName is the name under which walVFS is registered.
const walVFSName = "kartehub-wal"

func init() {
	vfs.Register(walVFSName, walVFS{vfs.Find("os").(vfs.VFSFilename)})
}

// uri is the URI that opens the database file at path with walVFS.
func uri(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: "vfs=" + walVFSName}
	return u.String(), nil
}

func (v walVFS) Open(name string, flags vfs.OpenFlag) (vfs.File, vfs.OpenFlag, error) {
	f, flags, err := v.VFSFilename.Open(name, flags)
	return wrapWAL(f, flags, err)
}

func (v walVFS) OpenFilename(name *vfs.Filename, flags vfs.OpenFlag) (vfs.File, vfs.OpenFlag, error) {
	f, flags, err := v.VFSFilename.OpenFilename(name, flags)
	return wrapWAL(f, flags, err)
}

func wrapWAL(f vfs.File, flags vfs.OpenFlag, err error) (vfs.File, vfs.OpenFlag, error) {
	if err != nil || flags&vfs.OPEN_WAL == 0 {
		return f, flags, err
	}
	return &walFile{File: f}, flags, nil
}

// walFrameHeader is the size of the header of a WAL frame. Its bytes 4-7
// hold the database size after a commit in a commit's last frame, and
// zero in every other frame.
const walFrameHeader = 24

// maxBuffered bounds how much a walFile holds back: a transaction larger
// than this is written in pieces.
const maxBuffered = 4 << 20

// walFile holds back contiguous writes to a WAL file until the frame that
// ends a commit has been written, then writes them at once. It writes what
// it holds before any other operation, so that reads, syncs, truncation
// and sizes see every byte written: the frames of a commit reach the file
// before the commit returns, whatever the synchronous setting.
type walFile struct {
	vfs.File
	buf []byte
	off int64 // the offset of buf[0] in the file
	// ending: the frame being written ends a commit.
	ending bool
}

func (f *walFile) WriteAt(p []byte, off int64) (int, error) {
	if len(f.buf) > 0 && off != f.off+int64(len(f.buf)) {
		if err := f.flush(); err != nil {
			return 0, err
		}
	}
	if len(f.buf) == 0 {
		f.off = off
	}
	f.buf = append(f.buf, p...)
	switch {
	case len(p) == walFrameHeader:
		f.ending = binary.BigEndian.Uint32(p[4:8]) != 0
	case f.ending, len(f.buf) >= maxBuffered:
		if err := f.flush(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// flush writes what f holds.
func (f *walFile) flush() error {
	if len(f.buf) == 0 {
		return nil
	}
	_, err := f.File.WriteAt(f.buf, f.off)
	f.buf, f.ending = f.buf[:0], false
	return err
}

func (f *walFile) ReadAt(p []byte, off int64) (int, error) {
	if err := f.flush(); err != nil {
		return 0, err
	}
	return f.File.ReadAt(p, off)
}

func (f *walFile) Sync(flags vfs.SyncFlag) error {
	if err := f.flush(); err != nil {
		return err
	}
	return f.File.Sync(flags)
}

func (f *walFile) Truncate(size int64) error {
	if err := f.flush(); err != nil {
		return err
	}
	return f.File.Truncate(size)
}

func (f *walFile) Size() (int64, error) {
	if err := f.flush(); err != nil {
		return 0, err
	}
	return f.File.Size()
}

func (f *walFile) Close() error {
	err := f.flush()
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	return err
}

// Unwrap implements vfs.FileUnwrap.
func (f *walFile) Unwrap() vfs.File { return f.File }
