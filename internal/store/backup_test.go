package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite" // the driver the store uses, here for a second process's connection

	"github.com/stagecoach/stagecoach/internal/store"
	"github.com/stagecoach/stagecoach/internal/store/storetest"
)

// OPERATIONS.md tells operators to back SQLite up online with VACUUM INTO (or sqlite3's .backup)
// while the bot runs; this is that, against the store's WAL-mode database while it writes.
func TestOnlineBackupWhileTheStoreWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	o := storetest.SQLite(t)
	st := storetest.Open(t, o)
	before, err := st.SaveLog(ctx, store.OperationLog{Stack: "pr-1", Kind: "up", Text: "committed before the backup"})
	if err != nil {
		t.Fatal(err)
	}
	stop, stopped := make(chan struct{}), make(chan error, 1)
	wrote := make(chan struct{})
	go func() {
		for i := 0; ; i++ {
			if _, err := st.SaveLog(ctx, store.OperationLog{Stack: "pr-2", Kind: "up", Text: "written during the backup"}); err != nil {
				stopped <- err
				return
			}
			if i == 0 {
				close(wrote)
			}
			select {
			case <-stop:
				stopped <- nil
				return
			default:
			}
		}
	}()
	<-wrote

	other, err := sql.Open("sqlite", "file:"+o.SQLitePath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	backup := filepath.Join(t.TempDir(), "backup.db")
	if _, err := other.ExecContext(ctx, "VACUUM INTO ?", backup); err != nil {
		t.Fatalf("VACUUM INTO while the store writes: %v", err)
	}
	close(stop)
	if err := <-stopped; err != nil {
		t.Fatalf("the store failed to write during the backup: %v", err)
	}

	copyOf, err := store.Open(ctx, store.Options{SQLitePath: backup, NoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer copyOf.Close()
	var check string
	if err := copyOf.DB().QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check of the backup = %q, %v", check, err)
	}
	if p, err := copyOf.PendingMigrations(ctx); err != nil || p.Count() != 0 || len(p.Newer) != 0 {
		t.Fatalf("the backup's migrations: %+v, %v; want current", p, err)
	}
	if l, err := copyOf.Log(ctx, before); err != nil || l.Text != "committed before the backup" {
		t.Fatalf("the row committed before the backup: %+v, %v", l, err)
	}
}
