package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"unicode"

	"barid/internal/auth"
	"barid/internal/config"
	"barid/internal/store"
)

func appPasswords(st store.Store) (store.AppPasswords, error) {
	ap, ok := st.(store.AppPasswords)
	if !ok {
		return nil, errors.New("this store has no app passwords")
	}
	return ap, nil
}

// AddAppPassword makes a random app password for the account user names
// ("barid user app-password add"), restricted to protocols (none: all),
// stores its hash and returns it. user may be a builtin account or, with
// cfg's [auth] sources, a directory user (whose store account is made if
// needed).
func AddAppPassword(ctx context.Context, cfg *config.Config, st store.Store, user, label string, protocols []string) (string, error) {
	ap, err := appPasswords(st)
	if err != nil {
		return "", err
	}
	if label == "" || len(label) > 64 || strings.IndexFunc(label, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return "", fmt.Errorf("label %q: 1 to 64 characters without spaces", label)
	}
	acct, err := st.Account(ctx, store.NormalizeAccountName(user))
	if errors.Is(err, store.ErrNoAccount) && cfg != nil {
		dir, derr := NewDirectory(ctx, cfg, st, slog.New(slog.DiscardHandler))
		if derr != nil {
			return "", derr
		}
		defer dir.Close()
		acct, err = dir.FindAccount(ctx, user)
	}
	if err != nil {
		return "", err
	}
	pw, hash := auth.NewAppPassword()
	if err := ap.AddAppPassword(ctx, acct.ID, label, hash, protocols); err != nil {
		return "", err
	}
	return pw, nil
}

// ListAppPasswords lists the app passwords of the account user names.
func ListAppPasswords(ctx context.Context, st store.Store, user string) ([]store.AppPassword, error) {
	ap, err := appPasswords(st)
	if err != nil {
		return nil, err
	}
	acct, err := st.Account(ctx, store.NormalizeAccountName(user))
	if err != nil {
		return nil, err
	}
	return ap.AppPasswords(ctx, acct.ID)
}

// RevokeAppPassword deletes one app password of the account user names.
func RevokeAppPassword(ctx context.Context, st store.Store, user, label string) error {
	ap, err := appPasswords(st)
	if err != nil {
		return err
	}
	acct, err := st.Account(ctx, store.NormalizeAccountName(user))
	if err != nil {
		return err
	}
	return ap.RevokeAppPassword(ctx, acct.ID, label)
}
