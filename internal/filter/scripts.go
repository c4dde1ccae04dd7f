package filter

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"unicode/utf8"

	"barid/internal/sieve"
	"barid/internal/store"
)

// QuotaError is a script limit: Code is the RFC 5804 §1.3 response code
// ("QUOTA/MAXSIZE", "QUOTA/MAXSCRIPTS") and Msg names the config key.
type QuotaError struct {
	Code string
	Msg  string
}

func (e *QuotaError) Error() string { return e.Msg }

// ScriptError is a script that does not compile, or a bad script name;
// Msg is the text for the user (compile errors one per line, with their
// line numbers).
type ScriptError struct{ Msg string }

func (e *ScriptError) Error() string { return e.Msg }

// Scripts is the script service: every upload is checked the same way
// whether it comes from ManageSieve or the CLI.
type Scripts struct {
	Store store.SieveScripts
	// Options carries the compile limits; MaxScriptSize is [sieve]
	// max_script_size.
	Options sieve.Options
	// MaxScripts is [sieve] max_scripts (0 = unlimited).
	MaxScripts int
	// MaxNameLength is [sieve] max_name_length (bytes).
	MaxNameLength int
}

// CheckName applies RFC 5804 §1.6: a script name is non-empty UTF-8
// without control characters (U+0000-001F, U+007F-009F), U+2028 or
// U+2029, and at most MaxNameLength bytes.
func (s *Scripts) CheckName(name string) error {
	if name == "" {
		return &ScriptError{Msg: "Script name is empty."}
	}
	if s.MaxNameLength > 0 && len(name) > s.MaxNameLength {
		return &QuotaError{Code: "QUOTA/MAXSIZE", Msg: fmt.Sprintf("Script name longer than sieve.max_name_length (%d bytes).", s.MaxNameLength)}
	}
	if !utf8.ValidString(name) {
		return &ScriptError{Msg: "Script name is not valid UTF-8."}
	}
	for _, r := range name {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == 0x2028 || r == 0x2029 {
			return &ScriptError{Msg: "Script name contains a control character."}
		}
	}
	return nil
}

func (s *Scripts) maxSize() int {
	if s.Options.MaxScriptSize > 0 {
		return s.Options.MaxScriptSize
	}
	return sieve.DefaultMaxScriptSize
}

// CheckSize refuses a script of n bytes over [sieve] max_script_size.
func (s *Scripts) CheckSize(n int64) error {
	if n > int64(s.maxSize()) {
		return &QuotaError{Code: "QUOTA/MAXSIZE", Msg: fmt.Sprintf("Script of %d bytes exceeds sieve.max_script_size (%d).", n, s.maxSize())}
	}
	return nil
}

// Compile compiles a script of the account; include (RFC 6609) reads
// the account's other scripts (":personal"); there are no global
// scripts.
func (s *Scripts) Compile(ctx context.Context, accountID int64, name string, src []byte) (*sieve.Script, error) {
	return sieve.Compile(name, src, s.Options, s.loader(ctx, accountID))
}

func (s *Scripts) loader(ctx context.Context, accountID int64) sieve.IncludeLoader {
	return func(name string, global bool) ([]byte, error) {
		if global {
			return nil, fmt.Errorf("global script %q: %w", name, fs.ErrNotExist)
		}
		sc, err := s.Store.SieveScript(ctx, accountID, name)
		if errors.Is(err, store.ErrNoScript) {
			return nil, fmt.Errorf("script %q: %w", name, fs.ErrNotExist)
		}
		if err != nil {
			return nil, err
		}
		return sc.Script, nil
	}
}

// check compiles src and turns a compile failure into a ScriptError.
func (s *Scripts) check(ctx context.Context, accountID int64, name string, src []byte) error {
	if err := s.CheckSize(int64(len(src))); err != nil {
		return err
	}
	_, err := s.Compile(ctx, accountID, name, src)
	var ce *sieve.CompileError
	if errors.As(err, &ce) {
		return &ScriptError{Msg: CompileMessage(ce)}
	}
	return err
}

// CompileMessage renders compile errors one per line as Pigeonhole
// does: "line N: error: text".
func CompileMessage(ce *sieve.CompileError) string {
	var lines []string
	for _, d := range ce.Errors {
		lines = append(lines, fmt.Sprintf("line %d: error: %s", d.Line, d.Msg))
	}
	if len(lines) == 0 {
		return "error: script does not compile"
	}
	return strings.Join(lines, "\n")
}

// List returns the account's scripts.
func (s *Scripts) List(ctx context.Context, accountID int64) ([]store.SieveScript, error) {
	return s.Store.SieveScripts(ctx, accountID)
}

// Get returns one script.
func (s *Scripts) Get(ctx context.Context, accountID int64, name string) (*store.SieveScript, error) {
	return s.Store.SieveScript(ctx, accountID, name)
}

// Put checks and stores a script (RFC 5804 §2.6: a script that does not
// compile is not stored).
func (s *Scripts) Put(ctx context.Context, accountID int64, name string, src []byte) (string, error) {
	if err := s.CheckName(name); err != nil {
		return "", err
	}
	if err := s.check(ctx, accountID, name, src); err != nil {
		return "", err
	}
	err := s.Store.PutSieveScript(ctx, accountID, name, src, s.MaxScripts)
	if errors.Is(err, store.ErrTooManyScripts) {
		return "", &QuotaError{Code: "QUOTA/MAXSCRIPTS", Msg: fmt.Sprintf("Too many scripts: sieve.max_scripts is %d.", s.MaxScripts)}
	}
	return "", err
}

// Check compiles a script without storing it (RFC 5804 §2.12).
func (s *Scripts) Check(ctx context.Context, accountID int64, src []byte) (string, error) {
	return "", s.check(ctx, accountID, "script", src)
}

// HaveSpace answers RFC 5804 §2.5: would a script of size bytes named
// name fit?
func (s *Scripts) HaveSpace(ctx context.Context, accountID int64, name string, size int64) error {
	if err := s.CheckName(name); err != nil {
		return err
	}
	if err := s.CheckSize(size); err != nil {
		return err
	}
	if s.MaxScripts <= 0 {
		return nil
	}
	list, err := s.Store.SieveScripts(ctx, accountID)
	if err != nil {
		return err
	}
	for _, sc := range list {
		if sc.Name == name {
			return nil
		}
	}
	if len(list) >= s.MaxScripts {
		return &QuotaError{Code: "QUOTA/MAXSCRIPTS", Msg: fmt.Sprintf("Too many scripts: sieve.max_scripts is %d.", s.MaxScripts)}
	}
	return nil
}

// SetActive activates a script ("" deactivates). The script is compiled
// first: one that no longer compiles (an include it needs is gone) is
// refused, as Pigeonhole does.
func (s *Scripts) SetActive(ctx context.Context, accountID int64, name string) error {
	if name != "" {
		sc, err := s.Store.SieveScript(ctx, accountID, name)
		if err != nil {
			return err
		}
		if err := s.check(ctx, accountID, name, sc.Script); err != nil {
			return err
		}
	}
	return s.Store.SetActiveSieveScript(ctx, accountID, name)
}

// Delete removes a script that is not active.
func (s *Scripts) Delete(ctx context.Context, accountID int64, name string) error {
	return s.Store.DeleteSieveScript(ctx, accountID, name)
}

// Rename renames a script.
func (s *Scripts) Rename(ctx context.Context, accountID int64, oldName, newName string) error {
	if err := s.CheckName(newName); err != nil {
		return err
	}
	return s.Store.RenameSieveScript(ctx, accountID, oldName, newName)
}
