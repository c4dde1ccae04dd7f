package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"barid/internal/app"
	"barid/internal/auth"
	"barid/internal/config"
)

// TestUserAddHash: barid user add --hash keeps a hash imported from
// Dovecot as the account's secret (checked first: an unknown scheme, a
// malformed hash or one over [limits] crypt_rounds is refused, naming
// the problem); barid user passwd --hash replaces it; the stored hash
// verifies the password.
func TestUserAddHash(t *testing.T) {
	dir := t.TempDir()
	const h = "{SHA512-CRYPT}$6$U4vAsQcoUwCAoq0b$Qyc/ebcLzkxn8k9pNuSQQcQN1T1jAmb5JF97Zs1Aubh8DlcimvdCFoM2PLfeCW/9lVwi9tseyqf4d1JxxuVr/1"
	if code, out, errs := runCLI(t, h+"\n", "user", "add", "--hash", "--data", dir, "alice"); code != 0 || out != "created account alice\n" {
		t.Fatalf("user add --hash: %d %q %s", code, out, errs)
	}
	for _, c := range []struct{ hash, want string }{
		{"{NTLM}8846f7eaee8fb117ad06bdd830b7586c", "unsupported password scheme"},
		{"{SSHA}!!", "malformed"},
		{"secret", `"{SCHEME}data"`},
		{"{SHA256-CRYPT}$5$rounds=999999999$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA", "crypt_rounds"},
	} {
		code, _, errs := runCLI(t, c.hash+"\n", "user", "add", "--hash", "--data", dir, "bob")
		if code != 1 || !strings.Contains(errs, c.want) {
			t.Errorf("user add --hash %q: %d %q, want an error with %q", c.hash, code, errs, c.want)
		}
	}
	if code, _, _ := runCLI(t, "x\n", "user", "list", "--hash", "--data", dir); code != 2 {
		t.Errorf("user list --hash: %d, want 2", code)
	}
	if code, _, errs := runCLI(t, "{CRYPT}M06l3Lf14Iov.\n", "user", "passwd", "--hash", "--data", dir, "alice"); code != 0 {
		t.Fatalf("user passwd --hash: %d %s", code, errs)
	}
	cfg := config.Default()
	cfg.DataDir = dir
	d, err := app.OpenData(context.Background(), &cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	acct, err := d.Store.Account(context.Background(), "alice")
	if err != nil || string(acct.Secret) != "{CRYPT}M06l3Lf14Iov." {
		t.Fatalf("alice's secret: %q %v", acct.Secret, err)
	}
	if ok, err := (auth.SchemeLimits{}).Verify(string(acct.Secret), "secret", ""); !ok || err != nil {
		t.Fatalf("stored hash does not verify: %v %v", ok, err)
	}
	if _, err := d.Store.Account(context.Background(), "bob"); err == nil {
		t.Fatal("a refused import created the account")
	}
}
