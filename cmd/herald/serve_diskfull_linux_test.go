package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"herald"
)

// tmpfsDir mounts a file system of size bytes in memory (tmpfs) on a new
// directory, unmounted at the end of the test. It skips the test when
// this process may not mount one (not root, or a container without the
// right): a full file system is what this test is about, and SQLite's
// max_page_count, the alternative, only caps the database's growth while
// writes into free pages and the write-ahead log still succeed, so it
// would not make every write fail as a full disk does.
func tmpfsDir(t *testing.T, size int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		t.Skip("mounting a small file system needs root")
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		t.Skipf("may not mount a small file system: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount: %v", err)
		}
	})
	return dir
}

// fillDisk writes a file into dir until its file system is full; removing
// the file gives the space back.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "ballast")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, size := range []int{1 << 16, 1 << 12, 1 << 9} {
		chunk := bytes.Repeat([]byte{'x'}, size)
		for {
			if _, err := f.Write(chunk); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatal(err)
				}
				break
			}
		}
	}
	return path
}

// TestServeSQLiteDiskFull fills the file system of Herald's SQLite
// database while a notification is being sent and the API takes new ones.
// While it is full the API answers 503 (the store is unavailable, try
// again), never 500; nothing accepted is lost; once space returns,
// sending resumes: every notification accepted ends with every delivery
// delivered or uncertain, none repeated, and one sent afterwards reaches
// everyone.
func TestServeSQLiteDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("sends hundreds of messages")
	}
	t.Parallel()
	dir := tmpfsDir(t, 16<<20)
	const recipients = 400
	w := newFaultWorld(t, "sqlite:"+filepath.Join(dir, "herald.db"), recipients, 20*time.Millisecond, "--concurrency", "4")
	w.start()
	status, first, body := w.post("full-first", "first {{givenName}}")
	if status/100 != 2 {
		t.Fatalf("POST: %d %s", status, body)
	}
	w.waitSending(recipients / 4)
	// An empty write-ahead log: from now on every write needs new space.
	if _, err := w.node.store.DB().ExecContext(w.ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	ballast := fillDisk(t, dir)
	sentAtFull := w.emu.Counters().ActivitiesFromBot
	// Each notification accepted, by the prefix of its text.
	accepted := map[string]herald.Notification{"first ": first}
	// The disk stays full for a few seconds: long enough for every write
	// of the engine to fail several times over.
	refused := 0
	for i, full := 0, time.Now(); time.Since(full) < 5*time.Second || refused < 3; i++ {
		status, n, body := w.post(fmt.Sprintf("full-%d", i), fmt.Sprintf("full-%d {{givenName}}", i))
		switch {
		case status/100 == 2:
			accepted[fmt.Sprintf("full-%d ", i)] = n
		case status == http.StatusServiceUnavailable:
			refused++
		default:
			t.Fatalf("POST while the disk is full: %d %s, want 2xx or 503", status, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("disk full after %d messages: %d notifications accepted meanwhile, %d refused with 503; %d messages sent since",
		sentAtFull, len(accepted)-1, refused, w.emu.Counters().ActivitiesFromBot-sentAtFull)
	if refused == 0 {
		t.Fatal("the API never refused a notification: the disk did not fill")
	}
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	for prefix, a := range accepted {
		n := w.wait(a.ID)
		t.Logf("%q: %+v", prefix, n.Counts)
		w.checkDelivered(n, prefix, true)
	}
	status, after, body := w.post("full-after", "after {{givenName}}")
	if status/100 != 2 {
		t.Fatalf("POST after space returned: %d %s", status, body)
	}
	n := w.wait(after.ID)
	w.checkDelivered(n, "after", false)
	if n.Counts.Delivered != recipients {
		t.Fatalf("after space returned: %+v, want all %d delivered", n.Counts, recipients)
	}
}
