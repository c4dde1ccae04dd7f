package app

import (
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// DropPrivileges switches to userName (and groupName, or the user's
// primary group) after the listeners are bound, when running as root.
// The data folder is handed to that user first. A no-op when not root
// or when userName is empty.
func DropPrivileges(userName, groupName, dataDir string) error {
	if os.Getuid() != 0 || userName == "" {
		return nil
	}
	u, err := user.Lookup(userName)
	if err != nil {
		return fmt.Errorf("drop privileges: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if groupName != "" {
		g, err := user.LookupGroup(groupName)
		if err != nil {
			return fmt.Errorf("drop privileges: %w", err)
		}
		gid, _ = strconv.Atoi(g.Gid)
	}
	if uid == 0 {
		return fmt.Errorf("drop privileges: user %q is root", userName)
	}
	err = filepath.WalkDir(dataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		return fmt.Errorf("drop privileges: chown data folder: %w", err)
	}
	if err := syscall.Setgroups([]int{gid}); err != nil {
		return fmt.Errorf("drop privileges: setgroups: %w", err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("drop privileges: setgid: %w", err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("drop privileges: setuid: %w", err)
	}
	if os.Getuid() == 0 || os.Geteuid() == 0 {
		return fmt.Errorf("drop privileges: still root after setuid")
	}
	return nil
}
