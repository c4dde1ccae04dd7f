package metrics

import (
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"barid/internal/auth"
)

// Protocol names, the values of the "protocol" label.
const (
	IMAP       = "imap"
	POP3       = "pop3"
	LMTP       = "lmtp"
	Submission = "submission"
)

// Result is a command's outcome, the "result" label: IMAP's OK, NO and
// BAD (RFC 9051 §7.1). POP3's -ERR is NO, or BAD for a line that does
// not parse or names no command; an SMTP reply (LMTP, submission) is OK
// for 2xx, BAD for 500-504 (syntax, RFC 5321 §4.2.3) and NO otherwise.
type Result uint8

const (
	OK Result = iota
	NO
	BAD
	nResults
)

var resultNames = [nResults]string{"OK", "NO", "BAD"}

func (r Result) String() string { return resultNames[r] }

// SMTPResult classifies an SMTP reply code as a Result.
func SMTPResult(code int) Result {
	switch {
	case code >= 200 && code < 300:
		return OK
	case code >= 500 && code <= 504:
		return BAD
	default:
		return NO
	}
}

// Unknown is the command label of a line whose command is not in the
// protocol's table (or could not be read).
const Unknown = "unknown"

// latencyBuckets span an IMAP NOOP on loopback (tens of µs) to a large
// SEARCH or an APPEND waiting on fsync (seconds).
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// fsyncBuckets are for one COMMIT of the store's writer: a page-cache
// commit takes tens of µs, an fsync on SSD a few ms, on a busy disk
// hundreds.
var fsyncBuckets = []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}

// Metrics is barid's set of collectors on its own registry.
type Metrics struct {
	reg *prometheus.Registry

	conns      *prometheus.GaugeVec     // barid_connections{protocol,state}
	connsTotal *prometheus.CounterVec   // barid_connections_total{protocol}
	commands   *prometheus.CounterVec   // barid_commands_total{protocol,command,result}
	latency    *prometheus.HistogramVec // barid_command_duration_seconds{protocol,command}
	authn      *prometheus.CounterVec   // barid_auth_total{protocol,mechanism,result}
	deliveries *prometheus.CounterVec   // barid_deliveries_total{result}
	delivBytes prometheus.Counter       // barid_delivered_bytes_total
	idle       *prometheus.GaugeVec     // barid_imap_idle_sessions{mode}
	commit     *prometheus.HistogramVec // barid_store_commit_duration_seconds{sync}
	commitFull prometheus.Observer
	commitNorm prometheus.Observer
}

// New returns the collectors, registered on a fresh registry together
// with the Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.conns = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "barid_connections",
		Help: "Open connections by protocol and session state.",
	}, []string{"protocol", "state"})
	m.connsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "barid_connections_total",
		Help: "Connections accepted, by protocol.",
	}, []string{"protocol"})
	m.commands = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "barid_commands_total",
		Help: "Commands answered, by protocol, command name (from the command table; others are \"unknown\") and result (OK, NO, BAD).",
	}, []string{"protocol", "command", "result"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "barid_command_duration_seconds",
		Help:    "Time from a command's first byte read to its completion written (IMAP IDLE excluded), by protocol and command.",
		Buckets: latencyBuckets,
	}, []string{"protocol", "command"})
	m.authn = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "barid_auth_total",
		Help: "Authentication attempts by protocol, mechanism (\"password\" for IMAP LOGIN and POP3 USER/PASS) and result (success, failure: wrong credentials, error: throttled, malformed or internal).",
	}, []string{"protocol", "mechanism", "result"})
	m.deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "barid_deliveries_total",
		Help: "LMTP deliveries, one per recipient, by result (delivered, deferred: 4xx, rejected: 5xx).",
	}, []string{"result"})
	m.delivBytes = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "barid_delivered_bytes_total",
		Help: "Bytes of messages delivered by LMTP, once per recipient.",
	})
	m.idle = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "barid_imap_idle_sessions",
		Help: "IMAP sessions waiting for pushed changes: in IDLE (RFC 2177), or with NOTIFY on (RFC 5465).",
	}, []string{"mode"})
	m.commit = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "barid_store_commit_duration_seconds",
		Help:    "Duration of the SQLite writer's COMMIT, by sync (full: fsynced, normal: flag changes without fsync).",
		Buckets: fsyncBuckets,
	}, []string{"sync"})
	m.reg.MustRegister(m.conns, m.connsTotal, m.commands, m.latency, m.authn, m.deliveries, m.delivBytes, m.idle, m.commit,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.commitFull, m.commitNorm = m.commit.WithLabelValues("full"), m.commit.WithLabelValues("normal")
	for _, r := range []string{"delivered", "deferred", "rejected"} {
		m.deliveries.WithLabelValues(r)
	}
	for _, mode := range []string{"idle", "notify"} {
		m.idle.WithLabelValues(mode)
	}
	return m
}

// Registry is the registry the collectors are on (tests gather from it;
// the app adds the store's counters).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text (or protobuf)
// exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// CounterFunc registers a counter read from fn at each scrape: how the
// counters other packages already keep (atomics) are exported without
// adding work to their paths.
func (m *Metrics) CounterFunc(name, help string, fn func() float64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, fn))
}

// GaugeFunc registers a gauge read from fn at each scrape.
func (m *Metrics) GaugeFunc(name, help string, fn func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn))
}

// ObserveCommit records one COMMIT of the store's writer; durable says
// whether it ran with synchronous=FULL (an fsync of the WAL). Safe on a
// nil receiver.
func (m *Metrics) ObserveCommit(d time.Duration, durable bool) {
	if m == nil {
		return
	}
	if durable {
		m.commitFull.Observe(d.Seconds())
	} else {
		m.commitNorm.Observe(d.Seconds())
	}
}

// Delivery records one recipient's LMTP outcome: its SMTP reply code
// and, when delivered, the message size. Safe on a nil receiver.
func (m *Metrics) Delivery(code int, size int64) {
	if m == nil {
		return
	}
	switch {
	case code/100 == 2:
		m.deliveries.WithLabelValues("delivered").Inc()
		m.delivBytes.Add(float64(size))
	case code/100 == 4:
		m.deliveries.WithLabelValues("deferred").Inc()
	default:
		m.deliveries.WithLabelValues("rejected").Inc()
	}
}

// Protocol is one protocol's handle: its connection gauges, its
// commands' counters and histograms, resolved once. A nil *Protocol
// (metrics off) accepts every call and does nothing.
type Protocol struct {
	m      *Metrics
	name   string
	total  prometheus.Counter
	states []prometheus.Gauge
	cmds   map[string]*Command
	unkn   *Command
	idle   prometheus.Gauge
	notify prometheus.Gauge
}

// Protocol returns the handle of protocol name, whose sessions go
// through states (states[0] is where a connection starts) and whose
// command table names commands. Call once per protocol and server.
func (m *Metrics) Protocol(name string, states, commands []string) *Protocol {
	if m == nil {
		return nil
	}
	p := &Protocol{m: m, name: name, total: m.connsTotal.WithLabelValues(name), cmds: make(map[string]*Command, len(commands))}
	for _, s := range states {
		p.states = append(p.states, m.conns.WithLabelValues(name, s))
	}
	for _, c := range commands {
		p.cmds[c] = m.newCommand(name, c)
	}
	p.unkn = m.newCommand(name, Unknown)
	p.idle = m.idle.WithLabelValues("idle")
	p.notify = m.idle.WithLabelValues("notify")
	return p
}

func (m *Metrics) newCommand(proto, name string) *Command {
	c := &Command{dur: m.latency.WithLabelValues(proto, name)}
	for r := range nResults {
		c.n[r] = m.commands.WithLabelValues(proto, name, resultNames[r])
	}
	return c
}

// Command returns the handle of a command of the table given to
// Protocol, or of "unknown" for any other name; nil on a nil Protocol.
// Protocol packages look each one up once (at startup) and keep it.
func (p *Protocol) Command(name string) *Command {
	if p == nil {
		return nil
	}
	if c := p.cmds[name]; c != nil {
		return c
	}
	return p.unkn
}

// Command is one command's counters by result and its latency
// histogram.
type Command struct {
	n   [nResults]prometheus.Counter
	dur prometheus.Observer
}

// Done records one completion: an atomic add on the result's counter
// and one Observe. Safe on a nil receiver.
func (c *Command) Done(r Result, d time.Duration) {
	if c == nil {
		return
	}
	c.n[r].Inc()
	c.dur.Observe(d.Seconds())
}

// Count records a completion without a latency (IMAP IDLE, whose
// duration is the client's choice). Safe on a nil receiver.
func (c *Command) Count(r Result) {
	if c == nil {
		return
	}
	c.n[r].Inc()
}

// Auth records one authentication attempt: err nil is a success,
// wrong credentials (auth.ErrAuthFailed, auth.ErrUnknownUser,
// auth.ErrAuthzFailed) a failure, anything else an error. A mechanism
// barid does not offer is counted as "other". Safe on a nil receiver.
func (p *Protocol) Auth(mech string, err error) {
	if p == nil {
		return
	}
	result := "success"
	switch {
	case err == nil:
	case errors.Is(err, auth.ErrAuthFailed), errors.Is(err, auth.ErrUnknownUser), errors.Is(err, auth.ErrAuthzFailed):
		result = "failure"
	default:
		result = "error"
	}
	p.m.authn.WithLabelValues(p.name, mechLabel(mech), result).Inc()
}

// mechLabel bounds the mechanism label to what barid offers.
func mechLabel(mech string) string {
	switch m := strings.ToUpper(mech); m {
	case auth.MechPlain, auth.MechLogin, auth.MechSCRAMSHA256, auth.MechSCRAMSHA256Plus, auth.MechSCRAMSHA1, auth.MechSCRAMSHA1Plus:
		return m
	case "PASSWORD":
		return "password"
	}
	return "other"
}

// Idle moves the IDLE gauge by delta (+1 when IDLE starts, -1 when it
// ends). Safe on a nil receiver.
func (p *Protocol) Idle(delta float64) {
	if p != nil {
		p.idle.Add(delta)
	}
}

// Notify moves the NOTIFY gauge by delta (+1 when a session turns
// NOTIFY on, -1 when it turns it off or ends). Safe on a nil receiver.
func (p *Protocol) Notify(delta float64) {
	if p != nil {
		p.notify.Add(delta)
	}
}

// ConnState follows one connection through the protocol's states; it
// is a value to embed in the connection (no allocation). Its zero
// value, and one opened on a nil Protocol, does nothing. Open comes
// first, from the goroutine that owns the connection; Set and Close
// may then race (a server closing an idle connection from its own
// goroutine): the gauges still end up right.
type ConnState struct {
	p     *Protocol
	state atomic.Int32 // 1 + the state index; 0: not open (or closed)
}

// Open counts a new connection, in the protocol's first state.
func (c *ConnState) Open(p *Protocol) {
	if p == nil || c.p != nil {
		return
	}
	c.p = p
	p.total.Inc()
	p.states[0].Inc()
	c.state.Store(1)
}

// Set moves the connection to state i (an index into the Protocol's
// states).
func (c *ConnState) Set(i int) {
	if c.p == nil || i < 0 || i >= len(c.p.states) {
		return
	}
	// A compare-and-swap, not a swap: a swap that found the connection
	// closed had to put 0 back, and a second Set in between then took a
	// state that was never counted off the gauge (TestConnStateRace).
	for {
		old := c.state.Load()
		if old == 0 || old == int32(i+1) { // closed, or already there
			return
		}
		if c.state.CompareAndSwap(old, int32(i+1)) {
			c.p.states[old-1].Dec()
			c.p.states[i].Inc()
			return
		}
	}
}

// Close takes the connection off the gauge; later calls do nothing.
func (c *ConnState) Close() {
	if c.p == nil {
		return
	}
	if old := c.state.Swap(0); old != 0 {
		c.p.states[old-1].Dec()
	}
}
