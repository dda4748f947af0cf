//go:build unix

package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
)

// runAs is the user Pulumi processes run as when Config.User is set.
type runAs struct {
	name     string // as configured
	uid, gid uint32
}

var uidGID = regexp.MustCompile(`^([0-9]+)(?::([0-9]+))?$`)

// lookupRunAs resolves Config.User: a user name, or uid[:gid] (the gid defaults to the user's primary
// group when the uid has an account, else to the uid). Root is refused: it would gain nothing.
func lookupRunAs(s string) (*runAs, error) {
	r := &runAs{name: s}
	if m := uidGID.FindStringSubmatch(s); m != nil {
		uid, err := strconv.ParseUint(m[1], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("pulumi user %q: %w", s, err)
		}
		r.uid, r.gid = uint32(uid), uint32(uid)
		if m[2] != "" {
			gid, err := strconv.ParseUint(m[2], 10, 32)
			if err != nil {
				return nil, fmt.Errorf("pulumi user %q: %w", s, err)
			}
			r.gid = uint32(gid)
		} else if u, err := user.LookupId(m[1]); err == nil {
			if gid, err := strconv.ParseUint(u.Gid, 10, 32); err == nil {
				r.gid = uint32(gid)
			}
		}
	} else {
		u, err := user.Lookup(s)
		if err != nil {
			return nil, fmt.Errorf("pulumi user %q: %w (give a user name that exists on this machine, or uid[:gid])", s, err)
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("pulumi user %q: %w", s, err)
		}
		r.uid, r.gid = uint32(uid), uint32(gid)
	}
	if r.uid == 0 {
		return nil, fmt.Errorf("pulumi user %q is root: name an unprivileged user, or leave it empty to run Pulumi as the bot's own user", s)
	}
	if euid := os.Geteuid(); euid != 0 {
		return nil, fmt.Errorf("pulumi user %q: running Pulumi as another user needs the bot to run as root, but it runs as uid %d; start the bot as root or leave the Pulumi user empty", s, euid)
	}
	return r, nil
}

// sysProcAttr runs a process as the user, without supplementary groups; nil runs it as this process's user.
func (r *runAs) sysProcAttr() *syscall.SysProcAttr {
	if r == nil {
		return nil
	}
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: r.uid, Gid: r.gid}}
}

// own makes dir and everything under it belong to the user, and dir itself mode 0700.
func (r *runAs) own(dir string) error {
	if r == nil {
		return nil
	}
	err := filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, int(r.uid), int(r.gid))
	})
	if err != nil {
		return fmt.Errorf("giving %s to the pulumi user %s: %w", dir, r.name, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("giving %s to the pulumi user %s: %w", dir, r.name, err)
	}
	return nil
}

// reach checks that the user can read and search every directory above dir: the CLI's `install` lists
// each directory from the project up to / (looking for PulumiPolicy.yaml) and fails on one it cannot
// read. It does not change permissions.
func (r *runAs) reach(dir string) error {
	if r == nil {
		return nil
	}
	for p := filepath.Dir(filepath.Clean(dir)); ; p = filepath.Dir(p) {
		info, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("checking that the pulumi user %s can reach %s: %w", r.name, dir, err)
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		mode := info.Mode().Perm()
		if ok {
			canPass := mode&0o005 == 0o005 ||
				(st.Uid == r.uid && mode&0o500 == 0o500) ||
				(st.Gid == r.gid && mode&0o050 == 0o050)
			if !canPass {
				return fmt.Errorf("the pulumi user %s (uid %d) cannot reach %s: %s is mode %04o; make it readable and searchable "+
					"(chmod 0755 %s; the Pulumi CLI lists every directory above its project) and keep the bot's own files in it private (0600/0700)",
					r.name, r.uid, dir, p, mode, p)
			}
		}
		if filepath.Dir(p) == p {
			return nil
		}
	}
}
