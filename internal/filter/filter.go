package filter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"barid/internal/deliver"
	"barid/internal/sieve"
	"barid/internal/store"
)

// Filter runs a recipient's active Sieve script at delivery and applies
// its result. It is safe for concurrent use.
type Filter struct {
	Store   store.Store
	Scripts *Scripts
	Deliver *deliver.Deliverer
	Outbox  *Outbox
	Logger  *slog.Logger
	// Hostname names this server in generated mail (MDN Reporting-UA,
	// Message-IDs).
	Hostname string
	// VacationMin and VacationMax clamp :days/:seconds ([sieve]
	// vacation_min_period, vacation_max_period; RFC 6131 §2).
	VacationMin, VacationMax time.Duration
	// RedirectPeriod is how long a redirect of one message (by
	// Message-ID) to one address is remembered, so a message that comes
	// back is not redirected again (12 h, as Pigeonhole's
	// sieve_redirect_duplicate_period).
	RedirectPeriod time.Duration
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time

	mu    sync.Mutex
	cache map[int64]cachedScript
}

type cachedScript struct {
	name   string
	digest []byte // store.ScriptDigest of the content compiled
	script *sieve.Script
	// includes are the scripts the compiled one read through include
	// (RFC 6609), by name with their content: a PUTSCRIPT of one of
	// them makes the cache entry stale too.
	includes map[string]string
}

func (f *Filter) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

func (f *Filter) log() *slog.Logger {
	if f.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return f.Logger
}

// Active returns the account's active script, compiled (and cached
// until the script changes), or nil when none is active. A script that
// no longer compiles (an include it needs was deleted) is logged and
// treated as none: the message is kept.
//
// Each delivery reads only the active script's name and content digest
// (store.SieveScripts ActiveSieveScriptDigest; a recipient without a
// script pays the same read) and compares them with the cached
// compilation's, so a PUTSCRIPT, SETACTIVE or `barid sieve put` on any
// node sharing the store is seen by the next delivery; the script is
// read and compiled again only when it changed. A script with include
// also has its included scripts read again.
func (f *Filter) Active(ctx context.Context, accountID int64) (*sieve.Script, error) {
	name, digest, err := f.Scripts.Store.ActiveSieveScriptDigest(ctx, accountID)
	if err != nil || name == "" {
		return nil, err
	}
	f.mu.Lock()
	c, ok := f.cache[accountID]
	f.mu.Unlock()
	if ok && c.name == name && len(digest) > 0 && bytes.Equal(c.digest, digest) {
		fresh, err := f.includesFresh(ctx, accountID, c.includes)
		if err != nil {
			return nil, err
		}
		if fresh {
			return c.script, nil
		}
	}
	sc, err := f.Scripts.Store.ActiveSieveScript(ctx, accountID)
	if err != nil || sc == nil {
		return nil, err
	}
	includes := map[string]string{}
	load := f.Scripts.loader(ctx, accountID)
	s, err := sieve.Compile(sc.Name, sc.Script, f.Scripts.Options, func(name string, global bool) ([]byte, error) {
		b, err := load(name, global)
		if err == nil {
			includes[name] = string(b)
		}
		return b, err
	})
	if err != nil {
		f.log().Error("sieve: the active script does not compile; keeping mail in INBOX", "account", accountID, "script", sc.Name, "err", err)
		return nil, nil
	}
	if len(includes) == 0 {
		includes = nil
	}
	f.mu.Lock()
	if f.cache == nil {
		f.cache = map[int64]cachedScript{}
	}
	f.cache[accountID] = cachedScript{name: sc.Name, digest: store.ScriptDigest(sc.Script), script: s, includes: includes}
	f.mu.Unlock()
	return s, nil
}

// includesFresh reports whether every script the cached one included
// still has the content it was compiled with.
func (f *Filter) includesFresh(ctx context.Context, accountID int64, includes map[string]string) (bool, error) {
	for name, src := range includes {
		sc, err := f.Scripts.Store.SieveScript(ctx, accountID, name)
		if errors.Is(err, store.ErrNoScript) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if string(sc.Script) != src {
			return false, nil
		}
	}
	return true, nil
}

// Recipient is one envelope recipient whose script runs.
type Recipient struct {
	Account *store.Account
	Rcpt    string // RCPT TO as given
	From    string // MAIL FROM ("" is the null sender)
	// Default is where keep and the implicit keep file the message:
	// INBOX, or the mailbox LMTP resolved (+detail, a hand-off).
	Default *store.Mailbox
	// DefaultFunc finds Default when it is nil: Run calls it at most
	// once, and only when the message is kept (keep, the implicit
	// keep, a fileinto that failed). LMTP passes its resolver here, so
	// a message the script files elsewhere costs the one lookup of its
	// folder, as an INBOX delivery costs the one lookup of INBOX
	// (docs/sieve.md, "Cost at delivery").
	DefaultFunc func() (*store.Mailbox, error)
}

// defaultBox returns rc's default mailbox, resolving it through
// DefaultFunc (once) when Default is nil.
func (rc *Recipient) defaultBox() (*store.Mailbox, error) {
	if rc.Default == nil && rc.DefaultFunc != nil {
		mb, err := rc.DefaultFunc()
		if err != nil {
			return nil, err
		}
		rc.Default, rc.DefaultFunc = mb, nil
	}
	if rc.Default == nil {
		return nil, errors.New("filter: the recipient has no default mailbox")
	}
	return rc.Default, nil
}

// Outcome is what the script did with one recipient's copy.
type Outcome struct {
	// Rejected is the ereject reason: LMTP refuses this recipient with
	// 550 5.7.1 (RFC 5429 §2.1) and nothing is stored.
	Rejected  string
	Mailboxes []string
	UIDs      []store.UID
	// Discarded: nothing stored (discard, reject, redirect without
	// keep), the delivery still succeeded.
	Discarded bool
}

// ErrNoMultiAppend is returned when the store cannot apply a script's
// result in one transaction.
var ErrNoMultiAppend = errors.New("sieve needs a store with AppendMulti")

// message is the sieve.Message of a prepared delivery: headers from the
// parsed header block, the whole message read only when a test needs it
// (body, a redirect).
type message struct {
	sieve.Message // headers
	size          int64
	load          func() ([]byte, error)
	once          sync.Once
	raw           []byte
	err           error
}

func (m *message) Size() int64 { return m.size }
func (m *message) Raw() ([]byte, error) {
	m.once.Do(func() { m.raw, m.err = m.load() })
	return m.raw, m.err
}

// target is one copy to store.
type target struct {
	mb    *store.Mailbox
	flags []string
}

// Run executes script for rc and applies the result: the copies in one
// transaction, then the outgoing mail queued. A runtime error is logged
// with its script line and the message is kept in the default mailbox
// (RFC 5228 §2.10.6).
func (f *Filter) Run(ctx context.Context, script *sieve.Script, p *deliver.Prepared, rc Recipient) (*Outcome, error) {
	// The logger with the recipient's attributes is made when something
	// is logged: most runs log nothing, and With formats its attributes
	// at once.
	var lg *slog.Logger
	log := func() *slog.Logger {
		if lg == nil {
			lg = f.log().With("account", rc.Account.Name, "rcpt", rc.Rcpt, "script", script.Name())
		}
		return lg
	}
	msg := &message{Message: sieve.NewMessage(p.Header), size: p.Size,
		load: func() ([]byte, error) { return f.Deliver.Bytes(ctx, p) }}
	// Mailboxes are looked up only when a script asks about them
	// (fileinto, mailboxexists): keep needs none. A name is looked up
	// alone (one row: the usual fileinto touches one mailbox, and
	// listing the account's mailboxes cost as much as the whole
	// interpreter run); the answers are kept for the run. A script
	// that asks about more than lookupsBeforeList names, or about a
	// special-use attribute (RFC 8579), has the account's list read
	// once instead.
	mbs := mailboxView{ctx: ctx, st: f.Store, account: rc.Account.ID}
	env := &sieve.Env{
		Envelope:         sieve.Envelope{From: rc.From, To: rc.Rcpt},
		Msg:              msg,
		Now:              f.now(),
		MailboxExists:    func(name string) bool { return mbs.find(name) != nil },
		SpecialUseExists: func(use string) bool { return mbs.findUse(use) != nil },
		UserAddresses:    userAddresses(rc),
		Location:         "MDA",
		// RFC 7352: the ids live in the vacation memory, recorded
		// below once the delivery succeeded.
		Duplicate: func(id string, _ time.Duration) bool {
			seen, err := f.Scripts.Store.VacationMarked(ctx, rc.Account.ID, "duplicate\n"+id, f.now())
			if err != nil {
				log().Warn("sieve: duplicate lookup failed; treated as new", "err", err)
			}
			return seen
		},
	}
	res, err := script.Execute(ctx, env)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var re *sieve.RuntimeError
		if errors.As(err, &re) {
			log().Warn("sieve: runtime error; keeping the message", "line", re.Line, "err", re.Msg)
		} else {
			log().Warn("sieve: script failed; keeping the message", "err", err)
		}
		res = &sieve.Result{ImplicitKeep: true}
	}

	if mbs.err != nil {
		// The script saw no mailboxes: its answers are not to be trusted.
		return nil, mbs.err
	}
	out := &Outcome{}
	var targets []target
	add := func(mb *store.Mailbox, flags []string) {
		for i := range targets {
			if targets[i].mb.ID == mb.ID {
				// One copy per mailbox, as Pigeonhole: the flags
				// of the later action win.
				if flags != nil {
					targets[i].flags = flags
				}
				return
			}
		}
		targets = append(targets, target{mb: mb, flags: flags})
	}
	var outgoing []*store.OutgoingMail
	var vacations []sieve.Vacation
	var notifies []sieve.Notify
	failed := false
	for _, a := range res.Actions {
		switch a := a.(type) {
		case sieve.Keep:
			mb, err := rc.defaultBox()
			if err != nil {
				return nil, err
			}
			add(mb, a.Flags)
		case sieve.FileInto:
			mb, err := f.fileTarget(ctx, rc, a, &mbs)
			if mbs.err != nil {
				return nil, mbs.err
			}
			if err != nil {
				log().Warn("sieve: fileinto failed; the message is kept in the default mailbox instead", "mailbox", a.Mailbox, "err", err)
				failed = true
				continue
			}
			add(mb, a.Flags)
		case sieve.Redirect:
			m, err := f.redirect(ctx, rc, msg, p, a, log())
			if err != nil {
				return nil, err
			}
			if m != nil {
				outgoing = append(outgoing, m)
			}
		case sieve.Discard:
		case sieve.Reject:
			if a.Extended {
				// RFC 5429 §2.1: refuse at the protocol level.
				out.Rejected = a.Reason
				return out, nil
			}
			if m := f.rejectMDN(rc, msg, a.Reason); m != nil {
				outgoing = append(outgoing, m)
			}
		case sieve.Vacation:
			vacations = append(vacations, a)
		case sieve.Notify:
			notifies = append(notifies, a)
		}
	}
	if res.ImplicitKeep || failed {
		mb, err := rc.defaultBox()
		if err != nil {
			return nil, err
		}
		if failed {
			// As Pigeonhole: when one action cannot be carried
			// out, none is (its storage transactions roll back,
			// nothing is sent) and the message is kept, without
			// the script's flags.
			targets = []target{{mb: mb}}
		} else {
			add(mb, res.KeepFlags)
		}
	}
	if failed {
		outgoing, vacations, notifies = nil, nil, nil
		res.Message, res.EditedHeader = nil, nil
	}

	stored := p
	if res.Message != nil && len(targets) > 0 {
		// RFC 5703 §5-6: replace/enclose made a new message; the
		// copies carry it.
		np, err := f.Deliver.Prepare(ctx, bytes.NewReader(res.Message), 0, store.Flags{}, p.InternalDate)
		if err != nil {
			return nil, err
		}
		stored = np
	} else if res.EditedHeader != nil && len(targets) > 0 {
		// RFC 5293: the stored copies carry the edited header.
		raw, err := msg.Raw()
		if err != nil {
			return nil, err
		}
		body := raw[min(len(p.Header), len(raw)):]
		np, err := f.Deliver.Prepare(ctx, io.MultiReader(bytes.NewReader(res.EditedHeader), bytes.NewReader(body)), 0, store.Flags{}, p.InternalDate)
		if err != nil {
			return nil, err
		}
		stored = np
	}
	if len(targets) > 0 {
		copies := make([]deliver.MailboxCopy, len(targets))
		for i, t := range targets {
			copies[i] = deliver.MailboxCopy{MailboxID: t.mb.ID, Flags: store.FlagsFromNames(t.flags)}
		}
		uids, err := f.Deliver.CommitMulti(ctx, stored, copies)
		if err != nil {
			if stored != p {
				f.Deliver.Discard(ctx, stored)
			}
			return nil, err
		}
		for i, t := range targets {
			out.Mailboxes = append(out.Mailboxes, t.mb.Name)
			out.UIDs = append(out.UIDs, uids[i])
		}
	} else {
		out.Discarded = true
	}
	for _, d := range res.Duplicates {
		now := f.now()
		if _, err := f.Scripts.Store.MarkVacation(ctx, rc.Account.ID, "duplicate\n"+d.ID, now, now.Add(d.Period)); err != nil {
			log().Warn("sieve: recording a duplicate id failed", "err", err)
		}
	}
	// The copies are durable: now the mail the script makes. A failure
	// here is logged, not returned: returning it would make the MTA
	// deliver again and store a second copy.
	for _, v := range vacations {
		if m := f.vacation(ctx, rc, env, msg, v, log()); m != nil {
			outgoing = append(outgoing, m)
		}
	}
	for _, n := range notifies {
		if m := f.notify(rc, env, msg, n, log()); m != nil {
			outgoing = append(outgoing, m)
		}
	}
	for _, m := range outgoing {
		if err := f.Outbox.Queue(ctx, m); err != nil {
			log().Error("sieve: could not queue outgoing mail", "kind", m.Kind, "to", m.To, "err", err)
		}
	}
	return out, nil
}

// fileTarget finds (or, with :create, creates) the mailbox of a
// fileinto; :specialuse picks the mailbox with that attribute when one
// exists (RFC 8579 §4).
func (f *Filter) fileTarget(ctx context.Context, rc Recipient, a sieve.FileInto, mbs *mailboxView) (*store.Mailbox, error) {
	if a.SpecialUse != "" {
		if mb := mbs.findUse(a.SpecialUse); mb != nil {
			return mb, nil
		}
	}
	if mb := mbs.find(a.Mailbox); mb != nil {
		return mb, nil
	}
	if !a.Create {
		return nil, fmt.Errorf("mailbox %q does not exist: %w", a.Mailbox, store.ErrNoMailbox)
	}
	// RFC 5490 §3.2 :create, with missing parents (RFC 9051 §6.3.4).
	parts := strings.Split(a.Mailbox, "/")
	var mb *store.Mailbox
	for i := range parts {
		name := strings.Join(parts[:i+1], "/")
		if m := mbs.find(name); m != nil {
			mb = m
			continue
		}
		use := ""
		if i == len(parts)-1 {
			use = a.SpecialUse
		}
		m, changes, err := f.Store.CreateMailbox(ctx, rc.Account.ID, name, use)
		if errors.Is(err, store.ErrMailboxExists) {
			m, err = f.Store.Mailbox(ctx, rc.Account.ID, name)
		} else if err == nil {
			f.Deliver.Bus.Publish(changes)
		}
		if err != nil {
			return nil, err
		}
		mbs.created(m)
		mb = m
	}
	return mb, nil
}

// userAddresses are the recipient's own addresses for vacation
// (RFC 5230 §4.5): the account name and the envelope recipient.
func userAddresses(rc Recipient) []string {
	out := []string{rc.Account.Name}
	if r := strings.Trim(rc.Rcpt, "<>"); r != "" && !strings.EqualFold(r, rc.Account.Name) {
		out = append(out, r)
	}
	return out
}
