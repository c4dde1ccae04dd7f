package server

import (
	"bufio"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"barid/internal/blob"
	"barid/internal/imap/wire"
	"barid/internal/search"
	"barid/internal/store"
)

// This file is what the operator's tools (the control socket and the
// admin CLI, cmd/barid) need from the IMAP server: who is connected,
// ending a user's sessions, and the IMAP SEARCH grammar and evaluator
// applied outside a session, so that "barid search" and "barid expunge"
// accept exactly what SEARCH accepts.

// SessionInfo describes one connection for "barid who".
type SessionInfo struct {
	ID       uint64    `json:"id"`
	Protocol string    `json:"protocol"` // "imap"
	User     string    `json:"user"`     // "" before login
	Remote   string    `json:"remote"`
	TLS      bool      `json:"tls"`
	Since    time.Time `json:"since"`
	Mailbox  string    `json:"mailbox"` // selected mailbox, "" when none
}

// adminInfo is what another goroutine may read of a connection: set
// after each command (noteSession), read by Sessions and Kick.
type adminInfo struct {
	mu      sync.Mutex
	since   time.Time
	remote  string // set once at accept: c.nc changes under STARTTLS and COMPRESS
	user    string
	mailbox string
	tls     bool
	kickMsg string // set by Kick: the BYE text instead of "Server shutting down"
}

// noteSession records, after a command, what "barid who" shows.
func (c *Conn) noteSession() {
	var user, mbox string
	if c.account != nil {
		user = c.account.Name
	}
	if c.sel != nil {
		mbox = c.sel.mbox.Name
	}
	c.admin.mu.Lock()
	c.admin.user, c.admin.mailbox, c.admin.tls = user, mbox, c.tls
	c.admin.mu.Unlock()
}

// byeText is the BYE a connection ends with when the server shuts it
// down: the administrator's text after Kick.
func (c *Conn) byeText() string {
	c.admin.mu.Lock()
	defer c.admin.mu.Unlock()
	if c.admin.kickMsg != "" {
		return c.admin.kickMsg
	}
	return "Server shutting down"
}

// Sessions lists the open connections, oldest first.
func (s *Server) Sessions() []SessionInfo {
	conns := s.net.Conns()
	out := make([]SessionInfo, 0, len(conns))
	for _, c := range conns {
		c.admin.mu.Lock()
		out = append(out, SessionInfo{ID: c.id, Protocol: "imap", User: c.admin.user, Remote: c.admin.remote,
			TLS: c.admin.tls, Since: c.admin.since, Mailbox: c.admin.mailbox})
		c.admin.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b SessionInfo) int { return int(a.ID) - int(b.ID) })
	return out
}

// Kick ends every session logged in as user (a normalized account
// name): a session waiting for a command gets "* BYE text" at once, one
// running a command gets it when the command completes (as at
// shutdown). It returns the number of sessions told.
func (s *Server) Kick(user, text string) int {
	if text == "" {
		text = "Disconnected by the administrator"
	}
	conns := s.net.Conns()
	n := 0
	for _, c := range conns {
		c.admin.mu.Lock()
		match := c.admin.user != "" && c.admin.user == user
		if match {
			c.admin.kickMsg = text
		}
		c.admin.mu.Unlock()
		if match {
			c.shutdown()
			n++
		}
	}
	return n
}

// ParseSearch parses an IMAP SEARCH program (RFC 9051 §6.4.4: [CHARSET
// x] search-key *(SP search-key)), the text after "SEARCH " with the
// same parser SEARCH uses. RETURN options are refused: the tools print
// every match. Sequence numbers refer to the mailbox's messages in UID
// order, as in a freshly selected mailbox.
func ParseSearch(query string) (*search.Key, error) {
	if strings.ContainsAny(query, "\r\n") {
		return nil, fmt.Errorf("search query: line breaks are not allowed")
	}
	s := New(Config{})
	c := &Conn{srv: s, log: s.log}
	c.dec = wire.NewDecoder(bufio.NewReader(strings.NewReader(query+"\r\n")), wire.Options{
		MaxLineLength:  64 << 10,
		MaxSkip:        64 << 10,
		MaxLiteralSize: 64 << 10,
		MaxDepth:       maxSearchDepth,
		Continue:       func(int64, bool) error { return nil },
	})
	var ret searchReturn
	key, err := c.parseSearchProgram(&ret)
	if err != nil {
		return nil, fmt.Errorf("search query: %w", err)
	}
	if ret != (searchReturn{}) {
		return nil, fmt.Errorf("search query: RETURN options are not supported here")
	}
	return key, nil
}

// SearchMailbox evaluates key over every message of a mailbox as a
// session that has just selected it would (the store's pushdown where
// it applies, message text otherwise) and returns the matching UIDs,
// ascending. No message is \Recent.
func SearchMailbox(ctx context.Context, st store.Store, blobs blob.Store, mailboxID int64, key *search.Key) ([]store.UID, error) {
	s := New(Config{Store: st, Blobs: blobs})
	s.ctx = ctx
	c := &Conn{srv: s, log: s.log}
	mb, uids, err := st.MessageUIDs(ctx, mailboxID)
	if err != nil {
		return nil, err
	}
	v := newView(*mb, uids, true)
	found, _, err := c.searchIn(mailboxID, uids, v.seqOf, func(store.UID) bool { return false }, key)
	return found, err
}

// NormalizeMailboxName validates a UTF-8 mailbox name as CREATE and
// SELECT do and maps INBOX's spellings to "INBOX".
func NormalizeMailboxName(name string) (string, error) { return normalizeName(name) }
