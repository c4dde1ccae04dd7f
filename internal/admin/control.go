package admin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"barid/internal/imap/server"
	"barid/internal/imex"
	"barid/internal/store"
)

// The control socket protocol: the client writes one JSON Request per
// line, the server answers each with one JSON Response line, in order,
// on the same connection. The socket is a unix socket of mode 0600 in
// the data folder: whoever can open it is the server's own user, so
// there is no authentication.
//
//	> {"op":"who"}
//	< {"ok":true,"sessions":[{"id":3,"protocol":"imap","user":"alice",...}]}
//	> {"op":"kick","user":"alice"}
//	< {"ok":true,"count":1}
//	> {"op":"mailbox.create","user":"alice","mailbox":"Lists/go"}
//	< {"ok":true}
//	> {"op":"group.set","group":"staff","user":"alice","add":true}
//	< {"ok":true}
//	> {"op":"nonsense"}
//	< {"ok":false,"error":"unknown op \"nonsense\""}
//
// An import ("barid import" while the server runs) is answered with
// progress lines ("more": true) before its final answer, and is the last
// request of its connection: the server closes it after the answer, and
// a client that hangs up first cancels the import (what was committed
// stays; the same command resumes).
//
//	> {"op":"import","user":"alice","kind":"maildir","path":"/srv/old/alice/Maildir"}
//	< {"ok":true,"more":true,"progress":"import 1200/60000 msgs, ..."}
//	< {"ok":true,"imports":[{"mailbox":"INBOX","uidvalidity":1600000000,...}]}

// MaxRequestLine is the longest request line the control socket reads;
// a longer one is answered with an error naming this limit and the
// connection is closed.
const MaxRequestLine = 1 << 20

// Request is one control-socket request.
type Request struct {
	Op         string `json:"op"`
	User       string `json:"user,omitempty"`
	Mailbox    string `json:"mailbox,omitempty"`
	NewName    string `json:"new_name,omitempty"`    // mailbox.rename
	SpecialUse string `json:"special_use,omitempty"` // mailbox.create
	Subscribe  bool   `json:"subscribe,omitempty"`   // mailbox.subscribe: true subscribes, false unsubscribes
	Query      string `json:"query,omitempty"`       // expunge
	Text       string `json:"text,omitempty"`        // kick: the BYE text
	Kind       string `json:"kind,omitempty"`        // import: "maildir" or "mbox"
	Path       string `json:"path,omitempty"`        // import: absolute path, read by the server
	Group      string `json:"group,omitempty"`       // group.set: the group, User the member
	Add        bool   `json:"add,omitempty"`         // group.set: true adds, false removes
}

// Response is the answer to one Request.
type Response struct {
	OK       bool                 `json:"ok"`
	Error    string               `json:"error,omitempty"`
	Sessions []server.SessionInfo `json:"sessions,omitempty"`
	Count    int                  `json:"count,omitempty"` // kick: sessions told
	UIDs     []uint32             `json:"uids,omitempty"`  // expunge: UIDs removed
	// More marks a progress line of an import; the final answer follows.
	More     bool           `json:"more,omitempty"`
	Progress string         `json:"progress,omitempty"`
	Imports  []*imex.Result `json:"imports,omitempty"` // import: per mailbox
}

// ImportFunc runs the control socket's import in the server's process,
// on its open store, writing progress lines to progress. It returns
// what it did per mailbox, also when it fails part way.
type ImportFunc func(ctx context.Context, req Request, progress io.Writer) ([]*imex.Result, error)

// Control serves the control socket of a running server.
type Control struct {
	Svc *Service
	// Sessions lists the connected sessions; Kick ends user's sessions
	// with text and returns how many it told.
	Sessions func() []server.SessionInfo
	Kick     func(user, text string) int
	// Import runs "barid import" for a CLI while the server runs (nil:
	// the op is refused).
	Import ImportFunc
	Log    *slog.Logger

	mu sync.Mutex
	// stop cancels the imports in progress when Close runs.
	stopCtx context.Context
	stop    context.CancelFunc
	lns     []net.Listener
	conns   map[net.Conn]struct{}
	// closed: Close ran; a Serve that starts after it (the server shut
	// down before its goroutine got going) closes its listener at once.
	closed bool
	wg     sync.WaitGroup
}

// Serve answers connections on ln until Close.
func (c *Control) Serve(ctx context.Context, ln net.Listener) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		ln.Close()
		return nil
	}
	c.lns = append(c.lns, ln)
	if c.conns == nil {
		c.conns = map[net.Conn]struct{}{}
	}
	c.mu.Unlock()
	for {
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		c.mu.Lock()
		c.conns[nc] = struct{}{}
		c.wg.Add(1)
		c.mu.Unlock()
		go func() {
			defer c.wg.Done()
			c.serveConn(ctx, nc)
			c.mu.Lock()
			delete(c.conns, nc)
			c.mu.Unlock()
		}()
	}
}

// Close stops the listeners and ends the connections once their
// current request is answered.
func (c *Control) Close() {
	c.mu.Lock()
	c.closed = true
	if c.stop != nil {
		c.stop()
	}
	for _, ln := range c.lns {
		ln.Close()
	}
	for nc := range c.conns {
		nc.SetReadDeadline(time.Now())
	}
	c.mu.Unlock()
	c.wg.Wait()
}

func (c *Control) serveConn(ctx context.Context, nc net.Conn) {
	defer nc.Close()
	br := bufio.NewReaderSize(nc, 4096)
	enc := json.NewEncoder(nc)
	for {
		line, err := readLine(br, MaxRequestLine)
		if err != nil {
			if errors.Is(err, errLineTooLong) {
				enc.Encode(Response{Error: err.Error()})
			}
			return
		}
		var req Request
		var resp Response
		if err := json.Unmarshal(line, &req); err != nil {
			resp.Error = "request is not a JSON object: " + err.Error()
		} else if req.Op == "import" {
			c.serveImport(ctx, nc, br, enc, req)
			return
		} else {
			resp = c.do(ctx, req)
		}
		if err := enc.Encode(resp); err != nil {
			return
		}
	}
}

var errLineTooLong = fmt.Errorf("request line longer than %d bytes (control socket MaxRequestLine)", MaxRequestLine)

func readLine(br *bufio.Reader, limit int) ([]byte, error) {
	var out []byte
	for {
		frag, err := br.ReadSlice('\n')
		out = append(out, frag...)
		if len(out) > limit {
			return nil, errLineTooLong
		}
		if err == nil {
			return out, nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			if len(out) > 0 && errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
	}
}

func (c *Control) do(ctx context.Context, req Request) Response {
	var err error
	var resp Response
	switch req.Op {
	case "ping":
	case "who":
		resp.Sessions = c.Sessions()
		if resp.Sessions == nil {
			resp.Sessions = []server.SessionInfo{}
		}
	case "kick":
		if req.User == "" {
			err = errors.New("kick needs a user")
			break
		}
		resp.Count = c.Kick(store.NormalizeAccountName(req.User), req.Text)
	case "mailbox.create":
		err = c.Svc.CreateMailbox(ctx, req.User, req.Mailbox, req.SpecialUse)
	case "mailbox.delete":
		err = c.Svc.DeleteMailbox(ctx, req.User, req.Mailbox)
	case "mailbox.rename":
		err = c.Svc.RenameMailbox(ctx, req.User, req.Mailbox, req.NewName)
	case "mailbox.subscribe":
		err = c.Svc.Subscribe(ctx, req.User, req.Mailbox, req.Subscribe)
	case "group.set":
		err = c.Svc.SetGroupMember(ctx, req.Group, req.User, req.Add)
	case "expunge":
		var uids []store.UID
		uids, err = c.Svc.Expunge(ctx, req.User, req.Mailbox, req.Query)
		for _, u := range uids {
			resp.UIDs = append(resp.UIDs, uint32(u))
		}
		resp.Count = len(uids)
	default:
		err = fmt.Errorf("unknown op %q", req.Op)
	}
	if err != nil {
		return Response{Error: err.Error()}
	}
	if c.Log != nil && req.Op != "who" && req.Op != "ping" {
		c.Log.Info("control", "op", req.Op, "user", req.User, "mailbox", req.Mailbox)
	}
	resp.OK = true
	return resp
}

// importContext is ctx, cancelled by Close too.
func (c *Control) importContext(ctx context.Context) (context.Context, context.CancelFunc) {
	c.mu.Lock()
	if c.stop == nil {
		c.stopCtx, c.stop = context.WithCancel(context.Background())
		if c.closed {
			c.stop()
		}
	}
	stopCtx := c.stopCtx
	c.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	unhook := context.AfterFunc(stopCtx, cancel)
	return ctx, func() { unhook(); cancel() }
}

// serveImport runs an import request to its end: progress lines, then
// the answer. A client that hangs up (its read returns) cancels it.
func (c *Control) serveImport(ctx context.Context, nc net.Conn, br *bufio.Reader, enc *json.Encoder, req Request) {
	var resp Response
	switch {
	case c.Import == nil:
		resp.Error = "this server does not take imports over the control socket"
	case req.User == "" || req.Path == "":
		resp.Error = "import needs a user and a path"
	case req.Kind != "maildir" && req.Kind != "mbox":
		resp.Error = fmt.Sprintf("import: unknown kind %q (maildir or mbox)", req.Kind)
	}
	if resp.Error != "" {
		enc.Encode(resp) //nolint:errcheck // the connection ends here
		return
	}
	ctx, cancel := c.importContext(ctx)
	defer cancel()
	go func() {
		// Nothing more is read on this connection: a read returns
		// when the client hangs up (or the server closes it).
		br.ReadByte() //nolint:errcheck
		cancel()
	}()
	var mu sync.Mutex
	pw := &progressWriter{send: func(line string) {
		mu.Lock()
		defer mu.Unlock()
		enc.Encode(Response{OK: true, More: true, Progress: line}) //nolint:errcheck // a gone client cancels
	}}
	if c.Log != nil {
		c.Log.Info("control", "op", "import", "user", req.User, "kind", req.Kind, "path", req.Path, "mailbox", req.Mailbox)
	}
	res, err := c.Import(ctx, req, pw)
	resp = Response{OK: err == nil, Imports: res}
	if err != nil {
		resp.Error = err.Error()
	}
	mu.Lock()
	enc.Encode(resp) //nolint:errcheck
	mu.Unlock()
}

// progressWriter sends each line written to it as a progress answer.
type progressWriter struct {
	send func(line string)
	buf  []byte
}

func (w *progressWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		if line := strings.TrimSpace(string(w.buf[:i])); line != "" {
			w.send(line)
		}
		w.buf = w.buf[i+1:]
	}
}

// Client is a connection to a running server's control socket.
type Client struct {
	nc  net.Conn
	br  *bufio.Reader
	enc *json.Encoder
}

// Dial connects to the control socket at path.
func Dial(path string) (*Client, error) {
	nc, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		return nil, err
	}
	return &Client{nc: nc, br: bufio.NewReader(nc), enc: json.NewEncoder(nc)}, nil
}

// Call sends req and reads its answer (Stream without progress lines).
// A server-side failure is an error with the server's text.
func (c *Client) Call(req Request) (*Response, error) { return c.Stream(req, nil) }

// Stream sends req and reads answers until the final one, handing each
// progress line to progress. A server-side failure is an error with the
// server's text (and the answer, which may carry partial results).
func (c *Client) Stream(req Request, progress func(string)) (*Response, error) {
	if err := c.enc.Encode(req); err != nil {
		return nil, err
	}
	for {
		line, err := readLine(c.br, 64<<20)
		if err != nil {
			return nil, fmt.Errorf("control socket: %w", err)
		}
		var resp Response
		if err := json.Unmarshal(line, &resp); err != nil {
			return nil, fmt.Errorf("control socket: bad answer: %w", err)
		}
		if resp.More {
			if progress != nil {
				progress(resp.Progress)
			}
			continue
		}
		if !resp.OK {
			return &resp, errors.New(resp.Error)
		}
		return &resp, nil
	}
}

// Close closes the connection.
func (c *Client) Close() error { return c.nc.Close() }
