package imex

import (
	"context"
	"fmt"
)

// ImportMaildir imports a whole Maildir++ tree (every folder, then the
// subscriptions file) into im's account.
func ImportMaildir(ctx context.Context, im *Importer, root string) ([]*Result, error) {
	folders, err := ScanMaildir(root)
	if err != nil {
		return nil, err
	}
	srcs := make([]*MaildirSource, len(folders))
	for i, f := range folders {
		if srcs[i], err = OpenMaildir(f); err != nil {
			return nil, err
		}
		n, b := srcs[i].Count()
		im.Progress.AddTotal(n, b)
	}
	var out []*Result
	for i, s := range srcs {
		res, err := im.ImportFolder(ctx, s.Import())
		if res != nil {
			out = append(out, res)
		}
		srcs[i] = nil // its listing is no longer needed
		if err != nil {
			return out, fmt.Errorf("%s: %w", s.Folder.Name, err)
		}
	}
	subs, err := ReadSubscriptions(root, ".")
	if err != nil {
		return out, err
	}
	for _, name := range subs {
		ch, err := im.Store.SetSubscribed(ctx, im.Account.ID, name, true)
		if err != nil {
			return out, fmt.Errorf("subscribe %s: %w", name, err)
		}
		im.publish(ch)
	}
	return out, nil
}
