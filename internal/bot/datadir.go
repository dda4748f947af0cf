package bot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// dataDirEntries are what the bot and its Pulumi processes keep in the data directory: the SQLite
// database and its journal files, the file state backend, Pulumi's home, the operations' work
// directories and the source cache. CheckDataDir checks those that exist; anything else there
// (a volume's lost+found, owned by root) is not the bot's and is left alone.
var dataDirEntries = []string{"stagecoach.db", "stagecoach.db-wal", "stagecoach.db-shm", "state", "pulumi-home", "work", "source"}

// CheckDataDir makes sure this process can write its data directory before anything is opened in
// it: it creates dir (0700) when missing, creates and removes a file in it, and opens each of the
// bot's entries that exist for writing (top level only). Otherwise SQLite fails later with
// "unable to open database file (14)", which names neither the directory nor its owner. The error
// names the directory or entry, its owner and mode, this process's uid and gid, and the fix.
// `serve` calls it first thing.
func CheckDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating the data directory %s (STAGECOACH_DATA_DIR): %w; create it for uid %d or point STAGECOACH_DATA_DIR at a writable directory",
			dir, err, os.Geteuid())
	}
	if err := probeWrite(dir, true); err != nil {
		return dataDirError(dir, dir, err)
	}
	for _, name := range dataDirEntries {
		p := filepath.Join(dir, name)
		info, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err == nil {
			err = probeWrite(p, info.IsDir())
		}
		if err != nil {
			return dataDirError(dir, p, err)
		}
	}
	return nil
}

// probeWrite checks that this process can write path: for a directory, by creating and removing a
// file in it; for a file, by opening it for writing without changing it.
func probeWrite(path string, isDir bool) error {
	if !isDir {
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		return f.Close()
	}
	f, err := os.CreateTemp(path, ".stagecoach-write-probe-*")
	if err != nil {
		return err
	}
	return errors.Join(f.Close(), os.Remove(f.Name()))
}

// dataDirError explains why path (the data directory dir itself, or an entry in it) is not writable.
func dataDirError(dir, path string, cause error) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("data directory %s (STAGECOACH_DATA_DIR): %s is not writable: %w", dir, path, cause)
	}
	return notWritable(dir, path, info, os.Geteuid(), os.Getegid(), cause)
}

// notWritable words the error for path, described by info, that uid:gid could not write.
func notWritable(dir, path string, info fs.FileInfo, uid, gid int, cause error) error {
	if pe, ok := errors.AsType[*fs.PathError](cause); ok {
		cause = pe.Err // the path is in the message already
	}
	what := "the data directory " + dir + " (STAGECOACH_DATA_DIR)"
	if path != dir {
		what = path + " in the data directory (STAGECOACH_DATA_DIR)"
	}
	owner := "owned by " + ownerOf(info)
	return fmt.Errorf("%s is not writable by this process (uid %d, gid %d): %w; it is %s with mode %s. "+
		"Give the data directory to the bot's user: chown -R %d:%d %s (in Kubernetes: set the pod's "+
		"securityContext.fsGroup to %d, or run an init step that chowns the volume)",
		what, uid, gid, cause, owner, info.Mode(), uid, gid, dir, gid)
}
