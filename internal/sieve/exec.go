package sieve

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"barid/internal/mail/header"
)

type flow int

const (
	flowNext flow = iota
	flowStop
	flowReturn
	flowBreak
)

// maxMatchSteps bounds the backtracking of one :matches evaluation.
const maxMatchSteps = 1 << 20

type frame struct {
	s     *Script
	vars  map[string]string
	match []string
}

type interp struct {
	ctx      context.Context
	env      *Env
	opts     Options
	deadline time.Time
	ticks    int
	now      time.Time // Env.Now, or the time Execute started

	globals  map[string]string
	isGlobal map[string]bool // names declared global in some frame
	fr       *frame

	actions    []Action
	cancelKeep bool
	flags      []string // the internal variable of imap4flags (RFC 5232 §3)
	redirects  int
	included   map[*Script]bool

	// editheader (RFC 5293) working copy of the header, nil until edited
	hdr *headerEdit
	// foreverypart (RFC 5703 §3) current part
	part      *mimePart
	breakName string
	msg       *parsedMsg
	// duplicate (RFC 7352) ids to record when delivery succeeds
	dups []DuplicateMark
	// addrs caches parsed address lists by header value for one run:
	// a script of many address tests reads the same From/To lines
	// many times, and parsing them is most of such a script's cost.
	addrs map[string]parsedAddrs
	// hdrVals caches headerValues of the unedited message header by
	// lower-case field name for one run.
	hdrVals map[string][]string

	// replace and enclose (RFC 5703 §5-6): the message they made, a
	// counter of such changes (MIME loops find their parts again), the
	// part paths changed while loops ran, whether enclose ran, the
	// message a redirect sends (nil: as delivered), and the fields
	// editheader may no longer touch.
	cur             Message
	gen             int
	replacedPaths   [][]int
	enclosed        bool
	redirectRaw     []byte
	protectedFields map[string]bool
	// notified counts notification recipients (max_notifications).
	notified int
	// valBuf is reused by the address tests of a run.
	valBuf []string
}

type runtimeErr struct {
	line int
	msg  string
	err  error
}

func (i *interp) fail(n *node, err error, f string, a ...any) {
	panic(runtimeErr{line: n.line, msg: fmt.Sprintf(f, a...), err: err})
}

// Execute runs the script for one message and recipient. A runtime
// error gives a result with only the implicit keep (RFC 5228 §2.10.6)
// and a *RuntimeError naming the line.
func (s *Script) Execute(ctx context.Context, env *Env) (res *Result, err error) {
	now := env.Now
	if now.IsZero() {
		now = time.Now()
	}
	i := &interp{now: now,
		ctx: ctx, env: env, opts: s.opts,
		deadline: time.Now().Add(s.opts.CPUTime),
	}
	// the variable maps are made when first written (most runs set
	// none)
	i.fr = &frame{s: s}
	defer func() {
		if r := recover(); r != nil {
			re, ok := r.(runtimeErr)
			if !ok {
				panic(r)
			}
			res = &Result{ImplicitKeep: true}
			err = &RuntimeError{Script: i.fr.s.name, Line: re.line, Msg: re.msg, Err: re.err}
		}
	}()
	i.run(s.cmds)
	return i.result(), nil
}

func (i *interp) tick(n *node) {
	i.ticks++
	if i.ticks&63 == 0 {
		if i.ctx.Err() != nil {
			i.fail(n, i.ctx.Err(), "cancelled: %v", i.ctx.Err())
		}
		if time.Now().After(i.deadline) {
			i.fail(n, ErrCPUTime, "script ran longer than cpu_time (%s)", i.opts.CPUTime)
		}
	}
}

func (i *interp) has(ext string) bool {
	if ext == "variables" {
		return i.fr.s.variables
	}
	return i.fr.s.exts[ext]
}

func (i *interp) run(cmds []*node) flow {
	done := false // an if/elsif of this chain was taken
	for _, n := range cmds {
		i.tick(n)
		switch n.name {
		case "if":
			done = false
			fallthrough
		case "elsif":
			if done {
				continue
			}
			if i.test(n.tests[0]) {
				done = true
				if f := i.run(n.block); f != flowNext {
					return f
				}
			}
			continue
		case "else":
			if !done {
				if f := i.run(n.block); f != flowNext {
					return f
				}
			}
			done = true
			continue
		}
		if f := i.command(n); f != flowNext {
			return f
		}
	}
	return flowNext
}

// str expands variables in a string argument (RFC 5229 §3).
func (i *interp) str(s string) string {
	if !i.has("variables") || !strings.Contains(s, "${") {
		return s
	}
	return i.expand(s)
}

func (i *interp) strs(a *arg) []string {
	if a == nil {
		return nil
	}
	if !i.has("variables") {
		return a.strs // callers only read it
	}
	out := make([]string, len(a.strs))
	for k, s := range a.strs {
		out[k] = i.str(s)
	}
	return out
}

func (i *interp) tagStr(n *node, tag string) (string, bool) {
	p, ok := n.tags[tag]
	if !ok || p == nil {
		return "", ok
	}
	return i.str(p.strs[0]), true
}

func (i *interp) addAction(n *node, a Action) {
	if len(i.actions) >= i.opts.MaxActions {
		i.fail(n, ErrTooManyActions, "more than max_actions (%d) actions", i.opts.MaxActions)
	}
	i.actions = append(i.actions, a)
}

func (i *interp) command(n *node) flow {
	switch n.name {
	case "require", "global":
		if n.name == "global" {
			for _, v := range n.pos[0].strs {
				if i.isGlobal == nil {
					i.isGlobal = map[string]bool{}
				}
				i.isGlobal[strings.ToLower(v)] = true
			}
		}
	case "stop":
		return flowStop
	case "return":
		return flowReturn
	case "break":
		i.breakName, _ = i.tagStr(n, "name")
		return flowBreak
	case "keep":
		i.cancelKeep = true
		i.addAction(n, Keep{Flags: i.actionFlags(n)})
		i.checkConflicts(n)
	case "discard":
		i.cancelKeep = true
		i.addAction(n, Discard{})
	case "fileinto":
		_, cp := n.tags["copy"]
		_, create := n.tags["create"]
		use, _ := i.tagStr(n, "specialuse")
		mb := i.str(n.pos[0].strs[0])
		if !utf8.ValidString(mb) {
			// RFC 5228 §4.1 (UTF-8 names); Pigeonhole fails likewise
			i.fail(n, nil, "fileinto: invalid mailbox name %q", mb)
		}
		if strings.EqualFold(mb, "INBOX") {
			// RFC 3501 §5.1: INBOX is case-insensitive
			mb = "INBOX"
		}
		if !cp && !i.storesInto(mb) {
			// a store into a mailbox already stored into is merged with
			// the first one and keeps its :copy (as in Pigeonhole)
			i.cancelKeep = true
		}
		i.addAction(n, FileInto{Mailbox: mb, Create: create, Copy: cp, Flags: i.actionFlags(n), SpecialUse: use})
		i.checkConflicts(n)
	case "redirect":
		_, cp := n.tags["copy"]
		addr := i.str(n.pos[0].strs[0])
		a, ok := parseMailbox(addr)
		if !ok {
			i.fail(n, nil, "redirect: invalid address '%s'", addr)
		}
		for _, x := range i.actions {
			// RFC 5228 §4.2: the same address twice is one redirect (the
			// first, with its :copy)
			if r, ok := x.(Redirect); ok && sameAddress(r.Address, a) {
				return flowNext
			}
		}
		if !cp {
			i.cancelKeep = true
		}
		i.redirects++
		if i.redirects > i.opts.MaxRedirects {
			i.fail(n, ErrTooManyRedirects, "more than max_redirects (%d) redirects", i.opts.MaxRedirects)
		}
		i.addAction(n, Redirect{Address: a, Copy: cp, Message: i.redirectRaw})
		i.checkConflicts(n)
	case "reject", "ereject":
		i.cancelKeep = true
		i.addAction(n, Reject{Reason: i.str(n.pos[0].strs[0]), Extended: n.name == "ereject"})
		i.checkConflicts(n)
	case "vacation":
		i.vacation(n)
	case "set":
		i.set(n)
	case "setflag", "addflag", "removeflag":
		i.flagCommand(n)
	case "include":
		return i.include(n)
	case "addheader", "deleteheader":
		i.editHeader(n)
	case "foreverypart":
		return i.forEveryPart(n)
	case "extracttext":
		i.extractText(n)
	case "notify":
		i.notify(n)
	case "error":
		// RFC 5463 §5: the script fails; the implicit keep happens
		i.fail(n, nil, "%s", i.str(n.pos[0].strs[0]))
	case "replace":
		i.replace(n)
	case "enclose":
		i.enclose(n)
	default:
		i.fail(n, nil, "command %s is not implemented", n.name)
	}
	return flowNext
}

func (i *interp) include(n *node) flow {
	s := n.inc
	if s == nil {
		return flowNext // :optional and missing
	}
	if n.incOnce && i.included[s] {
		return flowNext
	}
	if i.included == nil {
		i.included = map[*Script]bool{}
	}
	i.included[s] = true
	prev := i.fr
	i.fr = &frame{s: s}
	f := i.run(s.cmds)
	i.fr = prev
	if f == flowStop {
		return flowStop
	}
	return flowNext
}

func (i *interp) test(n *node) bool {
	i.tick(n)
	switch n.name {
	case "true":
		return true
	case "false":
		return false
	case "not":
		return !i.test(n.tests[0])
	case "allof":
		for _, t := range n.tests {
			if !i.test(t) {
				return false
			}
		}
		return true
	case "anyof":
		for _, t := range n.tests {
			if i.test(t) {
				return true
			}
		}
		return false
	case "size":
		lim := n.pos[0].num
		sz := i.message().Size()
		if i.hdr != nil && i.hdr.changed {
			// the size of the edited message (RFC 5293 §4), as in
			// Pigeonhole
			if raw, err := i.message().Raw(); err == nil {
				sz += int64(len(i.hdr.bytes()) - headerEnd(raw))
			}
		}
		if _, over := n.tags["over"]; over {
			return sz > lim
		}
		return sz < lim
	case "exists":
		for _, h := range i.strs(n.pos[0]) {
			if len(i.headerValues(n, h)) == 0 {
				return false
			}
		}
		return true
	case "header":
		names := i.strs(n.pos[0])
		if len(names) == 1 {
			// one field (the usual case): its values as they are, read
			// only by match
			return i.match(n, i.headerValues(n, names[0]), i.strs(n.pos[1]))
		}
		var vals []string
		for _, h := range names {
			vals = append(vals, i.headerValues(n, h)...)
		}
		return i.match(n, vals, i.strs(n.pos[1]))
	case "address":
		// the values go into a buffer of the run, reused by the next
		// address test (match is done with them by then)
		vals := i.valBuf[:0]
		count := 0
		for _, h := range i.strs(n.pos[0]) {
			var c int
			vals, c = i.addressValues(n, i.headerValues(n, h), vals)
			count += c
		}
		i.valBuf = vals[:0]
		if newMatcher(n).typ == mCount {
			// RFC 5231 §4.2: the number of addresses
			vals = make([]string, count)
		}
		return i.match(n, vals, i.strs(n.pos[1]))
	case "envelope":
		return i.envelope(n)
	case "string":
		vals := i.strs(n.pos[0])
		m := newMatcher(n)
		if m.typ == mCount {
			// RFC 5229 §5: empty strings are not counted
			vals = slices.DeleteFunc(vals, func(s string) bool { return s == "" })
		}
		return i.match(n, vals, i.strs(n.pos[1]))
	case "hasflag":
		return i.hasFlag(n)
	case "mailboxexists":
		for _, mb := range i.strs(n.pos[0]) {
			if i.env.MailboxExists == nil || !i.env.MailboxExists(mb) {
				return false
			}
		}
		return true
	case "specialuse_exists":
		return i.specialUseExists(n)
	case "body":
		return i.body(n)
	case "date", "currentdate":
		return i.date(n)
	case "duplicate":
		return i.duplicate(n)
	case "spamtest", "virustest":
		return i.spamTest(n)
	case "environment":
		return i.environment(n)
	case "ihave":
		return i.ihave(n)
	case "valid_notify_method":
		for _, u := range i.strs(n.pos[0]) {
			if validNotifyMethod(u) != nil {
				return false
			}
		}
		return true
	case "notify_method_capability":
		return i.notifyMethodCapability(n)
	}
	i.fail(n, nil, "test %s is not implemented", n.name)
	return false
}

// match applies the node's match type and comparator, and sets the match
// variables on a successful :matches (RFC 5229 §3.2).
func (i *interp) match(n *node, vals, keys []string) bool {
	m := newMatcher(n)
	steps := maxMatchSteps
	var caps []string
	var cp *[]string
	if (m.typ == mMatches || m.typ == mRegex) && i.has("variables") {
		cp = &caps
	}
	ok := m.match(vals, keys, cp, &steps)
	if steps < 0 {
		i.fail(n, ErrCPUTime, ":matches pattern needs too much work")
	}
	if ok && cp != nil {
		i.fr.match = caps
	}
	return ok
}

// headerValues gives the decoded values of a header field (RFC 5228
// §2.7.2: RFC 2047 encoded words are decoded), narrowed by :index/:last
// (RFC 5260 §6) and taken from MIME parts with :mime (RFC 5703 §4).
func (i *interp) headerValues(n *node, name string) []string {
	mime := n.mime
	// The message's own (unedited) header is the same for the whole
	// run: its decoded values are kept per name (interp.hdrVals), read
	// only by the callers.
	cache := !mime && i.hdr == nil
	key := strings.ToLower(name)
	vals, ok := i.hdrVals[key]
	if !cache || !ok {
		var raw []string
		if mime {
			raw = i.mimeHeader(n, name)
		} else {
			raw = i.msgHeader(name)
		}
		vals = make([]string, 0, len(raw))
		for _, v := range raw {
			v = strings.Trim(v, " \t")
			if strings.Contains(v, "=?") {
				v = header.DecodeWords(v)
			}
			vals = append(vals, v)
		}
		if cache {
			if i.hdrVals == nil {
				i.hdrVals = map[string][]string{}
			}
			i.hdrVals[key] = vals
		}
	}
	vals = vals[:len(vals):len(vals)]
	if p := n.tags["index"]; p != nil {
		idx := int(p.num)
		if _, last := n.tags["last"]; last {
			idx = len(vals) - idx + 1
		}
		if idx < 1 || idx > len(vals) {
			return nil
		}
		return vals[idx-1 : idx : idx]
	}
	return vals
}

// msgHeader reads the message header, or the edited one (RFC 5293 §4:
// tests see the changes).
func (i *interp) msgHeader(name string) []string {
	if i.hdr != nil {
		return i.hdr.get(name)
	}
	return i.message().Header(name)
}

func (i *interp) result() *Result {
	r := &Result{ImplicitKeep: !i.cancelKeep}
	if i.has("imap4flags") {
		r.KeepFlags = validFlags(i.flags)
	}
	// RFC 5228 §4.1/§4.3: filing into the same mailbox twice, or keep
	// and fileinto "INBOX", delivers once.
	seen := map[string]int{}
	discarded := false
	for _, a := range i.actions {
		var key string
		switch x := a.(type) {
		case Discard:
			if discarded {
				continue // one discard is enough
			}
			discarded = true
		case Keep:
			key = "INBOX"
		case FileInto:
			key = x.Mailbox
			if strings.EqualFold(key, "INBOX") {
				key = "INBOX"
			}
		}
		if key != "" {
			if k, ok := seen[key]; ok {
				// the flags of the last duplicate win, as in Pigeonhole
				r.Actions[k] = replaceFlags(r.Actions[k], a)
				continue
			}
			seen[key] = len(r.Actions)
		}
		r.Actions = append(r.Actions, a)
	}
	if r.ImplicitKeep {
		if _, ok := seen["INBOX"]; ok {
			// fileinto :copy "INBOX" and the implicit keep are one delivery
			r.ImplicitKeep = false
		}
	}
	r.Duplicates = i.dups
	switch {
	case i.cur != nil:
		// replace/enclose (RFC 5703 §5-6), with later header edits
		raw, _ := i.cur.Raw()
		if i.hdr != nil && i.hdr.changed {
			raw = append(i.hdr.bytes(), raw[headerEnd(raw):]...)
		}
		r.Message = raw
	case i.hdr != nil && i.hdr.changed:
		r.EditedHeader = i.hdr.bytes()
	}
	return r
}

func replaceFlags(a, b Action) Action {
	var fl []string
	switch x := b.(type) {
	case Keep:
		fl = x.Flags
	case FileInto:
		fl = x.Flags
	}
	switch x := a.(type) {
	case Keep:
		x.Flags = fl
		return x
	case FileInto:
		x.Flags = fl
		return x
	}
	return a
}

// storesInto tells whether an earlier keep or fileinto delivers into mb.
func (i *interp) storesInto(mb string) bool {
	for _, a := range i.actions {
		switch x := a.(type) {
		case Keep:
			if mb == "INBOX" {
				return true
			}
		case FileInto:
			if x.Mailbox == mb {
				return true
			}
		}
	}
	return false
}

// sameAddress compares local parts exactly and domains without case
// (RFC 5321 §2.4), as Pigeonhole's duplicate redirect check does.
func sameAddress(a, b string) bool {
	al, ad := splitAddr(a)
	bl, bd := splitAddr(b)
	return al == bl && strings.EqualFold(ad, bd)
}

func unionFlags(a, b []string) []string {
	out := slices.Clone(a)
	for _, f := range b {
		if !slices.ContainsFunc(out, func(g string) bool { return strings.EqualFold(f, g) }) {
			out = append(out, f)
		}
	}
	return out
}

// checkConflicts: RFC 5429 §2.1/§2.2: reject and ereject can not be
// combined with actions that deliver (keep, fileinto, redirect) or with
// vacation, and only one reject is allowed. As in Pigeonhole this is a
// runtime error, so the implicit keep happens.
func (i *interp) checkConflicts(n *node) {
	rejects, delivers := 0, ""
	for _, a := range i.actions {
		switch a.(type) {
		case Reject:
			rejects++
		case Keep:
			delivers = "keep"
		case FileInto:
			delivers = "fileinto"
		case Redirect:
			delivers = "redirect"
		case Vacation:
			delivers = "vacation"
		}
	}
	if rejects > 1 {
		i.fail(n, ErrActionConflict, "duplicate reject/ereject action not allowed")
	}
	if rejects == 1 && delivers != "" {
		i.fail(n, ErrActionConflict, "reject/ereject action conflicts with %s action", delivers)
	}
}
