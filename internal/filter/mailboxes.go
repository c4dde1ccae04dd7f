package filter

import (
	"context"
	"errors"
	"strings"

	"barid/internal/store"
)

// lookupsBeforeList is how many mailbox names one script run looks up
// one by one before it reads the account's whole mailbox list instead
// (a script testing many names with mailboxexists costs one query, not
// one per name).
const lookupsBeforeList = 4

// mailboxView answers a script run's questions about the recipient's
// mailboxes (fileinto, mailboxexists, specialuse_exists): each name is
// looked up alone the first time it is asked and remembered for the
// run; the whole list is read only for a special-use question or past
// lookupsBeforeList names. The first store error is kept in err (the
// script's answers are then not to be trusted: Run fails).
type mailboxView struct {
	ctx     context.Context
	st      store.Store
	account int64
	byName  map[string]*store.Mailbox // nil value: looked up, absent
	all     []store.Mailbox           // the account's list, once listed
	listed  bool
	err     error
}

// find returns the mailbox named name, or nil. INBOX is matched
// case-insensitively (RFC 9051 §5.1); every other name exactly, as the
// list compares it.
func (v *mailboxView) find(name string) *store.Mailbox {
	if strings.EqualFold(name, "INBOX") {
		name = "INBOX"
	}
	if mb, ok := v.byName[name]; ok {
		return mb
	}
	if v.listed || len(v.byName) >= lookupsBeforeList {
		v.list()
		for i := range v.all {
			if v.all[i].Name == name {
				return &v.all[i]
			}
		}
		return nil
	}
	if v.err != nil {
		return nil
	}
	mb, err := v.st.Mailbox(v.ctx, v.account, name)
	switch {
	case errors.Is(err, store.ErrNoMailbox):
		mb = nil
	case err != nil:
		v.err = err
		return nil
	case mb.Name != name:
		// The store folds "inbox/x" to "INBOX/x": the list, compared
		// exactly, would not have matched.
		mb = nil
	}
	if v.byName == nil {
		v.byName = map[string]*store.Mailbox{}
	}
	v.byName[name] = mb
	return mb
}

// findUse returns a mailbox with the special-use attribute use
// (RFC 6154; RFC 8579 §4), or nil.
func (v *mailboxView) findUse(use string) *store.Mailbox {
	v.list()
	for i := range v.all {
		if strings.EqualFold(v.all[i].SpecialUse, use) {
			return &v.all[i]
		}
	}
	return nil
}

// list reads the account's mailboxes once.
func (v *mailboxView) list() {
	if v.listed || v.err != nil {
		return
	}
	v.listed = true
	all, err := v.st.Mailboxes(v.ctx, v.account)
	if err != nil {
		v.err = err
		return
	}
	v.all = all
}

// created records a mailbox fileinto :create made (or found made by
// someone else meanwhile), for the rest of the run.
func (v *mailboxView) created(mb *store.Mailbox) {
	if v.listed {
		v.all = append(v.all, *mb)
	}
	if v.byName == nil {
		v.byName = map[string]*store.Mailbox{}
	}
	v.byName[mb.Name] = mb
}
