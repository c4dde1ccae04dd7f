package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The flags of import, export, migrate and store copy come from the
// data-folder front (dataFlagSet, parseArgs, adminFlags.load): flags
// anywhere among the arguments, "--" ending them (a file whose name
// starts with "-"), --blobs and --metadata checked with the
// configuration, and one "Flags:" heading in the usage on a flag error.
func TestToolFlags(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := runCLI(t, "pw\n", "user", "add", "--data", dir, "alice"); code != 0 {
		t.Fatalf("user add: %s", errs)
	}
	mbox := filepath.Join(t.TempDir(), "-dash.mbox")
	os.WriteFile(mbox, []byte("From a Mon Mar  2 10:00:00 2020\nSubject: x\n\nx\n"), 0o600)
	// Flags, then "--" before both arguments, the second a path that
	// looks like a flag (run from its folder, so it starts with -).
	t.Chdir(filepath.Dir(mbox))
	code, out, errs := runCLI(t, "", "import", "mbox", "--quiet", "--data", dir, "--", "alice", "-dash.mbox")
	if code != 0 || !strings.Contains(out, "1 imported") {
		t.Fatalf("import with --: %d %q %q", code, out, errs)
	}
	// Flags after the positional arguments.
	code, out, errs = runCLI(t, "", "import", "mbox", "alice", mbox, "--data", dir, "--quiet")
	if code != 0 || !strings.Contains(out, "0 imported, 1 already there") {
		t.Fatalf("import with flags last: %d %q %q", code, out, errs)
	}

	for _, cmd := range [][]string{
		{"import", "mbox", "--no-such-flag"},
		{"export", "maildir", "--no-such-flag"},
		{"migrate", "--no-such-flag"},
		{"store", "copy", "--no-such-flag"},
	} {
		code, _, errs := runCLI(t, "", cmd...)
		if code != 2 || strings.Count(errs, "Flags:") != 1 || !strings.Contains(errs, "-blobs") || !strings.Contains(errs, "-quiet") {
			t.Errorf("%s: exit %d, usage:\n%s", strings.Join(cmd, " "), code, errs)
		}
	}

	// --blobs is validated with the configuration.
	code, _, errs = runCLI(t, "", "export", "mbox", "--data", dir, "--blobs", "ftp://nowhere", "alice", t.TempDir())
	if code == 0 || !strings.Contains(errs, "blobs") {
		t.Errorf("export with a bad --blobs: %d %q", code, errs)
	}
}

// parseArgs: flags before, between and after the positional arguments;
// "--" in flag position ends the flags, also before the first
// positional argument; "--" as a flag's value is a value.
func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		rest, data string
		quiet      bool
	}{
		{[]string{"a", "--data", "d", "b"}, "a b", "d", false},
		{[]string{"--quiet", "a", "b", "--data=d"}, "a b", "d", true},
		{[]string{"--data", "d", "--", "-a", "-b"}, "-a -b", "d", false},
		{[]string{"a", "--", "--quiet", "-b"}, "a --quiet -b", "", false},
		{[]string{"--quiet", "--", "a"}, "a", "", true},
		{[]string{"--data", "--", "a", "--quiet"}, "a", "--", true},
		{[]string{"--", "--"}, "--", "", false},
	} {
		fs, f := dataFlagSet("t", "", io.Discard)
		quiet := fs.Bool("quiet", false, "")
		rest, err := parseArgs(fs, tc.args)
		if err != nil || strings.Join(rest, " ") != tc.rest || f.data != tc.data || *quiet != tc.quiet {
			t.Errorf("%q: rest %q, data %q, quiet %v, %v; want %q, %q, %v", tc.args, rest, f.data, *quiet, err, tc.rest, tc.data, tc.quiet)
		}
	}
}
