package auth

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// PasswdFile is the passwd-file source: a file in Dovecot's passwd-file
// format (doc: "Passwd-file", passdb and userdb in one), one user per
// line:
//
//	user:password:uid:gid:gecos:home:shell:extra_fields
//
// password is "{SCHEME}data" (see VerifySchemePassword) or, without a
// scheme, DefaultScheme. Lines that are empty or start with '#' are
// skipped. Names match case-insensitively. Of the extra fields
// (space-separated key=value), userdb_quota_rule / quota_rule
// "*:storage=SIZE" or "*:bytes=SIZE" set the quota, and "nologin",
// "disabled" or "disabled=yes" disable the account. uid, gid, home and
// shell are read and ignored: barid keeps mail in its own store.
//
// The file is read again when its size, modification time or inode
// changes (checked on every lookup, one stat). If it cannot be read the
// source is unavailable: logins fail with ErrUnavailable, never with a
// wrong-password answer.
type PasswdFile struct {
	Path string
	// DefaultScheme for passwords without "{SCHEME}"; "" is CRYPT.
	DefaultScheme string
	// Limits bound the work one line's hash may ask for.
	Limits SchemeLimits
	Logger *slog.Logger

	mu    sync.Mutex
	stamp fileStamp
	users map[string]passwdEntry
}

type fileStamp struct {
	size  int64
	mtime time.Time
	ino   uint64
}

type passwdEntry struct {
	user     User
	password string
}

// Name is "passwd-file".
func (p *PasswdFile) Name() string { return "passwd-file" }

// Authenticate checks password against the user's line.
func (p *PasswdFile) Authenticate(_ context.Context, login, password string) (*User, error) {
	e, err := p.entry(login)
	if err != nil {
		return nil, err
	}
	if e.password == "" {
		return nil, ErrAuthFailed // no password: no login (Dovecot: same)
	}
	ok, err := p.Limits.Verify(e.password, password, p.DefaultScheme)
	if err != nil {
		// An entry barid cannot read is that entry's problem, not an
		// outage: log it and refuse the login.
		p.logger().Error("passwd-file: unusable password", "path", p.Path, "user", logName(login), "err", err)
		return nil, ErrAuthFailed
	}
	if !ok {
		return nil, ErrAuthFailed
	}
	u := e.user
	return &u, nil
}

// Lookup finds a user by its name (the first field).
func (p *PasswdFile) Lookup(_ context.Context, name string) (*User, error) {
	e, err := p.entry(name)
	if err != nil {
		return nil, err
	}
	u := e.user
	return &u, nil
}

func (p *PasswdFile) logger() *slog.Logger {
	if p.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Logger
}

func (p *PasswdFile) entry(name string) (passwdEntry, error) {
	users, err := p.load()
	if err != nil {
		return passwdEntry{}, err
	}
	e, ok := users[strings.ToLower(name)]
	if !ok {
		return passwdEntry{}, ErrUnknownUser
	}
	return e, nil
}

// load returns the users, reading the file again if it changed.
func (p *PasswdFile) load() (map[string]passwdEntry, error) {
	fi, err := os.Stat(p.Path)
	if err != nil {
		return nil, fmt.Errorf("passwd-file: %w", err)
	}
	st := fileStamp{size: fi.Size(), mtime: fi.ModTime(), ino: inode(fi)}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.users != nil && st == p.stamp {
		return p.users, nil
	}
	data, err := os.ReadFile(p.Path)
	if err != nil {
		return nil, fmt.Errorf("passwd-file: %w", err)
	}
	users, bad := ParsePasswdFile(data)
	for _, ln := range bad {
		p.logger().Warn("passwd-file: line skipped", "path", p.Path, "line", ln)
	}
	p.users, p.stamp = users, st
	p.logger().Info("passwd-file loaded", "path", p.Path, "users", len(users))
	return users, nil
}

// ParsePasswdFile parses the passwd-file format; bad lists the numbers
// of lines it skipped (no name, or fewer than two fields).
func ParsePasswdFile(data []byte) (users map[string]passwdEntry, bad []int) {
	users = map[string]passwdEntry{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.SplitN(line, ":", 8)
		if len(f) < 2 || f[0] == "" || strings.ContainsAny(f[0], " \t") {
			bad = append(bad, n)
			continue
		}
		e := passwdEntry{user: User{Name: strings.ToLower(f[0])}, password: f[1]}
		if strings.Contains(f[0], "@") {
			e.user.Addresses = []string{strings.ToLower(f[0])}
		}
		if len(f) == 8 {
			for _, kv := range strings.Fields(f[7]) {
				k, v, _ := strings.Cut(kv, "=")
				switch strings.ToLower(k) {
				case "userdb_quota_rule", "quota_rule":
					if q, ok := parseQuotaRule(v); ok {
						e.user.QuotaBytes = q
					}
				case "nologin", "disabled":
					if v == "" || strings.EqualFold(v, "yes") || v == "1" {
						e.user.Disabled = true
					}
				}
			}
		}
		users[e.user.Name] = e
	}
	return users, bad
}

// parseQuotaRule reads Dovecot's "*:storage=1G" or "*:bytes=1048576".
func parseQuotaRule(v string) (int64, bool) {
	rest, ok := strings.CutPrefix(v, "*:")
	if !ok {
		return 0, false
	}
	k, val, ok := strings.Cut(rest, "=")
	if !ok {
		return 0, false
	}
	switch strings.ToLower(k) {
	case "storage", "bytes":
	default:
		return 0, false
	}
	return ParseSize(val)
}

// ParseSize reads a byte count with an optional unit suffix (k, M, G,
// T; binary multiples, as Dovecot reads quota sizes; "storage=" sizes
// without a unit are KiB in Dovecot, bytes= sizes are bytes: barid
// reads both without unit as bytes).
func ParseSize(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	if s != "" {
		switch strings.ToUpper(s[len(s)-1:]) {
		case "K":
			mult = 1 << 10
		case "M":
			mult = 1 << 20
		case "G":
			mult = 1 << 30
		case "T":
			mult = 1 << 40
		}
		if mult != 1 {
			s = s[:len(s)-1]
		} else if strings.HasSuffix(strings.ToUpper(s), "B") {
			s = s[:len(s)-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, false
	}
	return n * mult, true
}
