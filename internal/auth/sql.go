package auth

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// SQLConfig configures the SQL source ([auth.sql]).
type SQLConfig struct {
	DSN string // postgres:// URL
	// PasswordQuery takes the login name as $1 and returns one row with
	// a column "password" ({SCHEME}hash, see VerifySchemePassword) and
	// optionally "user" (the account name, if it differs from $1),
	// "quota_bytes" and "enabled". No row: unknown user.
	PasswordQuery string
	// UserQuery takes a login name or an address as $1 and returns one
	// row with "user" and optionally "quota_bytes", "enabled" and
	// "addresses" (comma-separated). No row: unknown.
	UserQuery     string
	DefaultScheme string        // for passwords without {SCHEME}; "" is CRYPT
	Timeout       time.Duration // per query (default 5s)
	Limits        SchemeLimits  // on the hashes read
	Logger        *slog.Logger
}

// SQL is the SQL source: accounts in a PostgreSQL database, read with
// the two configured queries through pgx (the scale-out store's driver).
type SQL struct {
	cfg  SQLConfig
	pool *pgxpool.Pool
}

// NewSQL opens a connection pool (lazily: an unreachable database is an
// outage at login time, not a startup failure).
func NewSQL(ctx context.Context, cfg SQLConfig) (*SQL, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	pc, err := pgxpool.ParseConfig(cfg.DSN)
	if err != nil {
		return nil, err
	}
	pc.ConnConfig.ConnectTimeout = cfg.Timeout
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, err
	}
	return &SQL{cfg: cfg, pool: pool}, nil
}

// Name is "sql".
func (s *SQL) Name() string { return "sql" }

// Close closes the pool.
func (s *SQL) Close() error { s.pool.Close(); return nil }

// row runs q with $1 = name and returns its first row as column → value.
func (s *SQL) row(ctx context.Context, q, name string) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	rows, err := s.pool.Query(ctx, q, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, ErrUnknownUser
	}
	vals, err := rows.Values()
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	for i, fd := range rows.FieldDescriptions() {
		m[strings.ToLower(fd.Name)] = vals[i]
	}
	if rows.Next() {
		s.cfg.Logger.Warn("sql: query returned more than one row; refused", "user", logName(name))
		return nil, ErrUnknownUser
	}
	return m, rows.Err()
}

func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}

// user maps a row to a User; fallback is the name when there is no
// "user" column.
func sqlUser(m map[string]any, fallback string) *User {
	u := &User{Name: strings.ToLower(str(m["user"]))}
	if u.Name == "" {
		u.Name = strings.ToLower(fallback)
	}
	if v, ok := m["quota_bytes"]; ok && v != nil {
		if n, err := strconv.ParseInt(str(v), 10, 64); err == nil && n > 0 {
			u.QuotaBytes = n
		}
	}
	if v, ok := m["enabled"]; ok && v != nil {
		switch x := v.(type) {
		case bool:
			u.Disabled = !x
		default:
			s := strings.ToLower(str(v))
			u.Disabled = !(s == "1" || s == "t" || s == "true" || s == "yes" || s == "y")
		}
	}
	for _, a := range strings.Split(str(m["addresses"]), ",") {
		if a = strings.ToLower(strings.TrimSpace(a)); a != "" {
			u.Addresses = append(u.Addresses, a)
		}
	}
	return u
}

// Authenticate runs PasswordQuery and checks the password.
func (s *SQL) Authenticate(ctx context.Context, login, password string) (*User, error) {
	m, err := s.row(ctx, s.cfg.PasswordQuery, login)
	if err != nil {
		return nil, err
	}
	stored := str(m["password"])
	if stored == "" {
		return nil, ErrAuthFailed
	}
	ok, err := s.cfg.Limits.Verify(stored, password, s.cfg.DefaultScheme)
	if err != nil {
		s.cfg.Logger.Error("sql: unusable password", "user", logName(login), "err", err)
		return nil, ErrAuthFailed
	}
	if !ok {
		return nil, ErrAuthFailed
	}
	return sqlUser(m, login), nil
}

// Lookup runs UserQuery.
func (s *SQL) Lookup(ctx context.Context, name string) (*User, error) {
	m, err := s.row(ctx, s.cfg.UserQuery, name)
	if err != nil {
		return nil, err
	}
	return sqlUser(m, name), nil
}
