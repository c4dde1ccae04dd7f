package pop3

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"barid/internal/blob"
	"barid/internal/store"
)

// command is one entry of the command table (STYLE.md §2): the states
// it is allowed in and its handler. A handler writes its own reply; an
// error it returns ends the connection.
type command struct {
	states state
	handle func(c *conn, cmd Command) error
}

const (
	authz = stateAuthorization
	trans = stateTransaction
	both  = stateAuthorization | stateTransaction
)

var commands map[string]*command

func init() {
	commands = map[string]*command{
		// Either state.
		"CAPA": {states: both, handle: handleCapa}, // RFC 2449 §5
		"QUIT": {states: both, handle: handleQuit}, // RFC 1939 §§4, 6
		"NOOP": {states: trans, handle: handleNoop},
		// AUTHORIZATION (RFC 1939 §7, RFC 5034, RFC 2595).
		"USER": {states: authz, handle: handleUser},
		"PASS": {states: authz, handle: handlePass},
		"AUTH": {states: authz, handle: handleAuth},
		"STLS": {states: authz, handle: handleSTLS},
		// TRANSACTION (RFC 1939 §5, §7).
		"STAT": {states: trans, handle: handleStat},
		"LIST": {states: trans, handle: handleList},
		"RETR": {states: trans, handle: handleRetr},
		"DELE": {states: trans, handle: handleDele},
		"RSET": {states: trans, handle: handleRset},
		"TOP":  {states: trans, handle: handleTop},
		"UIDL": {states: trans, handle: handleUIDL},
	}
}

// errInUse: another POP3 session has the maildrop.
var errInUse = errors.New("maildrop in use")

// storeError replies to a store failure with the RFC 3206 code that
// fits: [SYS/PERM] for what retrying will not fix, [SYS/TEMP] for the
// rest (the details go to the log).
func (c *conn) storeError(what string, err error) {
	switch {
	case errors.Is(err, store.ErrNoMailbox), errors.Is(err, store.ErrNoAccount), errors.Is(err, blob.ErrNotFound):
		c.log.Error(what, "err", err)
		c.reply("-ERR [SYS/PERM] " + what + ": refer to the server log")
	case errors.Is(err, context.Canceled):
		c.reply("-ERR [SYS/TEMP] Server shutting down.")
	default:
		c.log.Error(what, "err", err)
		c.reply("-ERR [SYS/TEMP] " + what + ": refer to the server log")
	}
}

// msgArg parses the one message-number argument of LIST, RETR, DELE and
// UIDL; on failure it has replied and returns 0.
func (c *conn) msgArg(arg string) int {
	n, bad := parseMsgNum(arg)
	if bad == "" {
		bad = c.drop.msg(n)
	}
	if bad != "" {
		c.reply("-ERR " + bad)
		return 0
	}
	return n
}

// RFC 1939 §5 STAT.
func handleStat(c *conn, cmd Command) error {
	if cmd.Arg != "" {
		c.reply("-ERR STAT takes no argument")
		return nil
	}
	c.reply(fmt.Sprintf("+OK %d %d", c.drop.count(), c.drop.octets()))
	return nil
}

// RFC 1939 §5 LIST.
func handleList(c *conn, cmd Command) error {
	d := c.drop
	if cmd.Arg != "" {
		if n := c.msgArg(cmd.Arg); n > 0 {
			c.reply(fmt.Sprintf("+OK %d %d", n, d.size(n)))
		}
		return nil
	}
	if err := c.bigWrites(); err != nil {
		return err
	}
	c.reply(fmt.Sprintf("+OK %d messages:", d.count()))
	var b []byte
	for i := range d.uids {
		if d.deleted.has(i) {
			continue
		}
		b = strconv.AppendInt(b[:0], int64(i+1), 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, d.size(i+1), 10)
		b = append(b, '\r', '\n')
		c.bw.Write(b)
	}
	c.reply(".")
	return nil
}

// RFC 1939 §7 UIDL.
func handleUIDL(c *conn, cmd Command) error {
	d := c.drop
	if cmd.Arg != "" {
		if n := c.msgArg(cmd.Arg); n > 0 {
			c.reply(fmt.Sprintf("+OK %d %s", n, d.uidl(n)))
		}
		return nil
	}
	if err := c.bigWrites(); err != nil {
		return err
	}
	c.reply("+OK")
	var b []byte
	for i, u := range d.uids {
		if d.deleted.has(i) {
			continue
		}
		b = strconv.AppendInt(b[:0], int64(i+1), 10)
		b = fmt.Appendf(b, " %08x%08x\r\n", uint32(u), d.uidValidity)
		c.bw.Write(b)
	}
	c.reply(".")
	return nil
}

// RFC 1939 §5 DELE: marked now, expunged at QUIT.
func handleDele(c *conn, cmd Command) error {
	if n := c.msgArg(cmd.Arg); n > 0 {
		c.drop.dele(n)
		c.reply("+OK Marked to be deleted.")
	}
	return nil
}

// RFC 1939 §5 NOOP.
func handleNoop(c *conn, cmd Command) error {
	c.reply("+OK")
	return nil
}

// RFC 1939 §5 RSET.
func handleRset(c *conn, cmd Command) error {
	c.drop.rset()
	c.reply("+OK")
	return nil
}

// RFC 1939 §5 RETR.
func handleRetr(c *conn, cmd Command) error {
	n := c.msgArg(cmd.Arg)
	if n == 0 {
		return nil
	}
	return c.sendMessage(n, -1)
}

// RFC 1939 §7 TOP msg n.
func handleTop(c *conn, cmd Command) error {
	args := cmd.Args()
	if len(args) != 2 {
		c.reply("-ERR TOP needs a message number and a line count")
		return nil
	}
	n := c.msgArg(args[0])
	if n == 0 {
		return nil
	}
	lines, bad := parseCount(args[1])
	if bad != "" {
		c.reply("-ERR " + bad)
		return nil
	}
	return c.sendMessage(n, lines)
}

// sendMessage answers RETR (lines < 0) or TOP: the record first (its
// blob and flags), then "+OK", then the bytes streamed through a
// bounded buffer. A message another client expunged since the session
// began gets -ERR, as in Dovecot.
func (c *conn) sendMessage(n int, lines int64) error {
	d := c.drop
	uid := d.uids[n-1]
	d.sync()
	blobID, seen, found, err := d.record(c.ctx(), n)
	if err != nil {
		c.storeError("Cannot read the message", err)
		return nil
	}
	if !found {
		c.reply(fmt.Sprintf("-ERR Message %d expunged.", n))
		return nil
	}
	data, inFile, err := d.prefetched(c.ctx(), n)
	if err != nil {
		c.storeError("Cannot read the message", err)
		return nil
	}
	var r blob.Reader // the blob, when its bytes were not read ahead
	if data == nil {
		r, err = c.openBlob(blobID, inFile)
		if errors.Is(err, blob.ErrNotFound) {
			// Expunged since the window was read (its inline bytes went
			// with it)? Ask the store again.
			d.forget()
			if _, _, found, ferr := d.record(c.ctx(), n); ferr == nil && !found {
				c.reply(fmt.Sprintf("-ERR Message %d expunged.", n))
				return nil
			}
		}
		if err != nil {
			c.storeError("Cannot read the message", err)
			return nil
		}
		defer r.Close()
	}
	if err := c.bigWrites(); err != nil {
		return err
	}
	if lines < 0 {
		c.okOctets(d.size(n))
	} else {
		c.reply("+OK")
	}
	var sent int64
	if data != nil {
		sent, err = copyBytes(c.bw, data, lines)
	} else {
		br := getReader()
		sent, err = copyMessage(c.bw, br, &readerAt{r: r}, lines)
		putReader(br)
	}
	if err != nil {
		// The "+OK" is out: the response cannot be ended honestly.
		c.log.Debug("message not sent whole; closing", "uid", uid, "err", err)
		return err
	}
	if lines < 0 && !seen {
		// RETR (not TOP) sets \Seen, written when the session ends, as
		// in Dovecot, but only once the whole message has been handed
		// to the connection (Dovecot marks it when RETR starts, so a
		// client that dies mid-transfer finds it \Seen): the next
		// flush that succeeds marks it. Replies to pipelined commands
		// (RFC 2449 §6.6) stay buffered until then.
		if err := c.seenAfterFlush(n); err != nil {
			return err
		}
	}
	if c.debug() {
		c.log.Debug("sent message", "user", c.userName(), "uid", uid, "bytes", sent, "top", lines >= 0)
	}
	return nil
}

// fileStore is a blob store with its file store behind it
// (blob/tiered): a blob the inline store said it does not have is
// opened there directly.
type fileStore interface {
	Files() blob.Store
}

// openBlob opens message bytes that were not read ahead; inFile says
// the inline store does not have them (maildrop.prefetched).
func (c *conn) openBlob(id string, inFile bool) (blob.Reader, error) {
	if fs, ok := c.srv.cfg.Blobs.(fileStore); ok && inFile {
		return fs.Files().Open(c.ctx(), id)
	}
	return c.srv.cfg.Blobs.Open(c.ctx(), id)
}

// readerAt reads a blob from its start.
type readerAt struct {
	r   blob.Reader
	off int64
}

func (r *readerAt) Read(p []byte) (int, error) {
	n, err := r.r.ReadAt(p, r.off)
	r.off += int64(n)
	if n > 0 && err != nil {
		err = nil // io.ReaderAt may return EOF with the last bytes
	}
	return n, err
}

// RFC 1939 §4 (AUTHORIZATION) and §6 (UPDATE) QUIT.
func handleQuit(c *conn, cmd Command) error {
	if c.drop == nil {
		c.reply("+OK Logging out")
		c.state = stateUpdate
		return c.flush()
	}
	// RETRs pipelined before QUIT (RFC 2449 §6.6) are written first, so
	// that their \Seen is part of the update.
	if len(c.seenPending) > 0 {
		if err := c.flush(); err != nil {
			return err
		}
	}
	deleted := c.drop.deletedCount > 0
	c.state = stateUpdate
	err := c.drop.commit(c.ctx(), true)
	// The lock and the session slot go before the reply: a client may
	// reconnect the moment it reads it.
	c.drop.close()
	c.drop = nil
	if c.releaseUser != nil {
		c.releaseUser()
		c.releaseUser = nil
	}
	if err != nil {
		// RFC 1939 §6: "-ERR some deleted messages not removed".
		c.log.Error("QUIT: update failed", "err", err)
		c.reply("-ERR [SYS/TEMP] Some deleted messages not removed: refer to the server log")
		return c.flush()
	}
	if deleted {
		c.reply("+OK Logging out, messages deleted.")
	} else {
		c.reply("+OK Logging out.")
	}
	return c.flush()
}
