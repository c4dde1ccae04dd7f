package imex

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"barid/internal/store"
)

// accountExtras copies what an account owns beside its mail: its quota
// override (RFC 9208), METADATA entries (RFC 5464, server and mailbox
// scopes), ACL entries of its mailboxes (RFC 4314) and Sieve scripts
// (RFC 5804), and app passwords (their hashes). Each is copied when both stores implement the
// capability, and each write replaces, so a rerun changes nothing.
func (c *StoreCopier) accountExtras(ctx context.Context, src, dst *store.Account, mbs []store.Mailbox, st *CopyStats) error {
	if sq, ok := c.Src.(store.Quotas); ok {
		if dq, ok := c.Dst.(store.Quotas); ok {
			q, err := sq.Quota(ctx, src.ID)
			if err != nil {
				return err
			}
			if q.Override != (store.QuotaLimits{Storage: store.QuotaInherit, Messages: store.QuotaInherit}) {
				if err := dq.SetQuotaLimits(ctx, dst.ID, q.Override); err != nil {
					return fmt.Errorf("quota: %w", err)
				}
				st.Extras["quota overrides"]++
			}
		}
	}
	dstBox := func(name string) (int64, error) {
		mb, err := c.Dst.Mailbox(ctx, dst.ID, name)
		if err != nil {
			return 0, err
		}
		return mb.ID, nil
	}
	if sm, ok := c.Src.(store.Metadata); ok {
		if dm, ok := c.Dst.(store.Metadata); ok {
			// Scope 0 (the server's entries), then each mailbox.
			scopes := []struct {
				src  int64
				name string
			}{{0, ""}}
			for _, mb := range mbs {
				scopes = append(scopes, struct {
					src  int64
					name string
				}{mb.ID, mb.Name})
			}
			for _, sc := range scopes {
				es, err := sm.MetadataEntries(ctx, src.ID, sc.src)
				if err != nil {
					return err
				}
				if len(es) == 0 {
					continue
				}
				var to int64
				if sc.name != "" {
					if to, err = dstBox(sc.name); err != nil {
						return err
					}
				}
				have, err := dm.MetadataEntries(ctx, dst.ID, to)
				if err != nil {
					return err
				}
				var set []store.MetadataEntry
				for _, e := range es {
					if !hasEntry(have, e) {
						set = append(set, e)
					}
				}
				if len(set) > 0 {
					// No limits: the source accepted these entries under
					// its own.
					if err := dm.SetMetadata(ctx, dst.ID, to, set, store.MetadataLimits{}); err != nil {
						return fmt.Errorf("METADATA of %q: %w", sc.name, err)
					}
				}
				st.Extras["METADATA entries"] += len(es)
			}
		}
	}
	if sa, ok := c.Src.(store.ACLStore); ok {
		if da, ok := c.Dst.(store.ACLStore); ok {
			for _, mb := range mbs {
				es, err := sa.ACL(ctx, mb.ID)
				if err != nil {
					return err
				}
				if len(es) == 0 {
					continue
				}
				to, err := dstBox(mb.Name)
				if err != nil {
					return err
				}
				for _, e := range es {
					if err := da.SetACL(ctx, to, e.Identifier, e.Rights); err != nil {
						return fmt.Errorf("ACL of %q: %w", mb.Name, err)
					}
				}
				st.Extras["ACL entries"] += len(es)
			}
		}
	}
	if sh, ok := c.Src.(store.AppPasswordHasher); ok {
		if dp, ok := c.Dst.(store.AppPasswords); ok {
			aps, err := sh.AppPasswordHashes(ctx, src.ID)
			if err != nil {
				return err
			}
			have, err := dp.AppPasswords(ctx, dst.ID)
			if err != nil {
				return err
			}
			for _, ap := range aps {
				if !slices.ContainsFunc(have, func(h store.AppPassword) bool { return h.Label == ap.Label }) {
					if err := dp.AddAppPassword(ctx, dst.ID, ap.Label, ap.Hash, ap.Protocols); err != nil {
						return fmt.Errorf("app password %q: %w", ap.Label, err)
					}
				} else if cur, err := dp.AppPasswordByHash(ctx, ap.Hash); err != nil || cur.AccountID != dst.ID || cur.Label != ap.Label {
					return fmt.Errorf("%w: the target's app password %q of %s is another one", ErrCopyConflict, ap.Label, src.Name)
				}
				st.Extras["app passwords"]++
			}
		}
	}
	if ss, ok := c.Src.(store.SieveScripts); ok {
		if ds, ok := c.Dst.(store.SieveScripts); ok {
			scripts, err := ss.SieveScripts(ctx, src.ID)
			if err != nil {
				return err
			}
			for _, sc := range scripts {
				full, err := ss.SieveScript(ctx, src.ID, sc.Name)
				if err != nil {
					return err
				}
				if err := ds.PutSieveScript(ctx, dst.ID, full.Name, full.Script, 0); err != nil {
					return fmt.Errorf("sieve script %q: %w", sc.Name, err)
				}
				if full.Active {
					if err := ds.SetActiveSieveScript(ctx, dst.ID, full.Name); err != nil {
						return err
					}
				}
				st.Extras["Sieve scripts"]++
			}
		}
	}
	return nil
}

func hasEntry(have []store.MetadataEntry, e store.MetadataEntry) bool {
	for _, h := range have {
		if h.Name == e.Name {
			return bytes.Equal(h.Value, e.Value)
		}
	}
	return false
}

// global copies what belongs to no one account: ACL groups (RFC 4314
// identifiers "$group") and address aliases. idMap maps source account
// IDs to the target's; aliases of accounts left out are not copied.
func (c *StoreCopier) global(ctx context.Context, idMap map[int64]int64, st *CopyStats) error {
	if sa, ok := c.Src.(store.ACLStore); ok {
		if da, ok := c.Dst.(store.ACLStore); ok {
			gm, err := sa.GroupMembers(ctx)
			if err != nil {
				return err
			}
			for _, m := range gm {
				// No session runs on the target yet: its changes go nowhere.
				if _, err := da.SetGroupMember(ctx, m.Group, m.Account, true); err != nil {
					return fmt.Errorf("group %s: %w", m.Group, err)
				}
				st.Extras["group memberships"]++
			}
		}
	}
	if sa, ok := c.Src.(store.Aliases); ok {
		if da, ok := c.Dst.(store.Aliases); ok {
			as, err := sa.ListAliases(ctx)
			if err != nil {
				return err
			}
			for _, a := range as {
				to, ok := idMap[a.AccountID]
				if !ok {
					continue
				}
				cur, err := da.AliasTarget(ctx, a.Address)
				switch {
				case errors.Is(err, store.ErrNoAlias):
					if err := da.AddAlias(ctx, a.Address, to); err != nil {
						return fmt.Errorf("alias %s: %w", a.Address, err)
					}
				case err != nil:
					return err
				case cur != to:
					return fmt.Errorf("%w: the target's alias %s names another account", ErrCopyConflict, a.Address)
				}
				st.Extras["aliases"]++
			}
		}
	}
	return nil
}
