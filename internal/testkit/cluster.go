package testkit

import (
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"barid/internal/app"
	"barid/internal/blob/s3/s3test"
	"barid/internal/config"
	"barid/internal/store/postgres/pgtest"
)

// ClusterEnvVar, set to "2", makes every server the kit starts two
// barid nodes (docs/scale-out.md) instead of one: both on one fresh
// PostgreSQL database and one fresh prefix of the test S3 bucket, every
// message's bytes in S3 (inline_max_bytes 0), each node with its own
// data folder. Clients dial fronts, one per listener, that hand the
// connections out to the nodes in turn (the first to node A, the next
// to node B, ...), as a round-robin TCP load balancer does, so that the
// clients of one test are spread over both nodes and a change one
// client makes must reach the others through the shared store and the
// cross-node change bus:
//
//	BARID_TEST_CLUSTER=2 go test ./internal/e2e/ ./internal/interop/
//
// It needs BARID_TEST_POSTGRES and BARID_TEST_S3; without either, every
// test that starts a server skips with a message naming it. A test that
// chooses its metadata or blob store itself runs on one node as
// before. Limits that are per node (connections per user and per
// address, login throttling: docs/scale-out.md) count each node's
// share.
const ClusterEnvVar = "BARID_TEST_CLUSTER"

// Clustered reports whether ClusterEnvVar asks for two nodes.
func Clustered() bool { return os.Getenv(ClusterEnvVar) == "2" }

// cluster is what the nodes of one data folder share; a server started
// again on that folder (a restart test) gets the same back.
type cluster struct {
	db, blobs string
	dirB      string // node B's data folder
}

var clusters = struct {
	sync.Mutex
	byDir map[string]*cluster
}{byDir: map[string]*cluster{}}

// applyClusterEnv points cfg at the shared database and bucket when
// ClusterEnvVar says so and the test chose neither store itself; it
// returns nil when the server is to run on one node.
func applyClusterEnv(t testing.TB, cfg *config.Config) *cluster {
	t.Helper()
	switch v := os.Getenv(ClusterEnvVar); v {
	case "", "1":
		return nil
	case "2":
	default:
		t.Fatalf("%s=%q: want 2 (or unset)", ClusterEnvVar, v)
	}
	if cfg.Storage.Metadata != "" || cfg.Storage.Blobs != "" {
		return nil
	}
	clusters.Lock()
	defer clusters.Unlock()
	cl, ok := clusters.byDir[cfg.DataDir]
	if !ok {
		if !pgtest.Available() || os.Getenv(s3test.Env) == "" {
			t.Skipf("%s=2 needs PostgreSQL and S3: set %s (scripts/ci-postgres) and %s (scripts/ci-s3)", ClusterEnvVar, pgtest.EnvVar, s3test.Env)
		}
		cl = &cluster{db: pgtest.Database(t), blobs: s3test.URL(t), dirB: t.TempDir()}
		clusters.byDir[cfg.DataDir] = cl
	}
	cfg.Storage.Metadata, cfg.Storage.Blobs = cl.db, cl.blobs
	cfg.Storage.InlineMaxBytes = 0
	return cl
}

// frontNames are the listeners that get a front in the two-node mode:
// the protocols clients speak (the metrics, control and ACME listeners
// stay node A's).
var frontNames = []string{"imap", "imaps", "lmtp", "pop3", "pop3s", "submission", "submissions", "managesieve"}

// startFronts starts one front per listener the nodes share and returns
// the address map clients use: the fronts' addresses, and node A's for
// the rest.
func (s *Server) startFronts(nodes []*app.App) map[string]string {
	t := s.T
	t.Helper()
	out := nodes[0].Addrs()
	per := make([]map[string]string, len(nodes))
	for i, n := range nodes {
		per[i] = n.Addrs()
	}
	for _, name := range frontNames {
		var backends []string
		for _, m := range per {
			if a, ok := m[name]; ok {
				backends = append(backends, a)
			}
		}
		if len(backends) != len(nodes) {
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		f := &front{ln: ln, backends: backends}
		f.wg.Add(1)
		go f.serve()
		s.frontStops = append(s.frontStops, f)
		out[name] = ln.Addr().String()
	}
	return out
}

// front is a round-robin TCP relay: connection k goes to backend
// k mod len(backends). It adds no PROXY header: the nodes see the
// front's loopback address, as the clients' own would be.
type front struct {
	ln       net.Listener
	backends []string
	next     atomic.Uint64
	wg       sync.WaitGroup
	mu       sync.Mutex
	closed   bool
	conns    map[net.Conn]struct{}
}

func (f *front) serve() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		k := f.next.Add(1) - 1
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.relay(c, f.backends[k%uint64(len(f.backends))])
		}()
	}
}

// relay copies both ways until the backend closes (then the client is
// closed too) or the client closes (then the backend reads EOF and
// closes, as with a direct connection).
func (f *front) relay(client net.Conn, backend string) {
	defer client.Close()
	b, err := net.Dial("tcp", backend)
	if err != nil {
		return
	}
	defer b.Close()
	if !f.add(client, b) {
		return
	}
	defer f.remove(client, b)
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(b, client)
		if tc, ok := b.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
	}()
	io.Copy(client, b)
	client.Close()
	<-done
}

func (f *front) add(cs ...net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	if f.conns == nil {
		f.conns = map[net.Conn]struct{}{}
	}
	for _, c := range cs {
		f.conns[c] = struct{}{}
	}
	return true
}

func (f *front) remove(cs ...net.Conn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range cs {
		delete(f.conns, c)
	}
}

// close cuts the relayed connections that are left once the nodes
// have stopped, and waits for the relays.
func (f *front) close() {
	f.ln.Close()
	f.mu.Lock()
	f.closed = true
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}
