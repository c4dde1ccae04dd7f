package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// procMem reads the memory of process pid from /proc (proc(5)): VmRSS from
// /proc/PID/status and Pss from /proc/PID/smaps_rollup, each without the
// pages of mapped files (RssFile, Pss_File). With tree set it
// sums over pid and all its descendants, which is how a multi-process
// server such as Dovecot (a master plus one imap process per connection)
// must be measured. Summed RSS counts shared pages once per process; PSS
// divides them among the processes that share them, so it is the fairer
// sum for a multi-process server.
func procMem(proc string, pid int, tree bool) (MemSample, error) {
	pids := []int{pid}
	if tree {
		var err error
		pids, err = descendants(proc, pid)
		if err != nil {
			return MemSample{}, err
		}
	}
	var s MemSample
	for _, p := range pids {
		rss, err := statusField(filepath.Join(proc, strconv.Itoa(p), "status"), "VmRSS:")
		if err != nil {
			if p == pid {
				return MemSample{}, err
			}
			continue // exited meanwhile
		}
		pss, err := statusField(filepath.Join(proc, strconv.Itoa(p), "smaps_rollup"), "Pss:")
		if err != nil {
			pss = rss
		}
		// Pages of mapped files (the server's binary and libraries, a
		// memory-mapped database or index) are page cache the kernel can
		// drop, and they come and go with the server's reads: barid's
		// memory-mapped SQLite readers unmap after writes, which once made
		// a "per connection" delta negative. RSS and PSS here leave them
		// out (RssFile, Pss_File), for every server alike.
		rssFile, _ := statusField(filepath.Join(proc, strconv.Itoa(p), "status"), "RssFile:")
		pssFile, _ := statusField(filepath.Join(proc, strconv.Itoa(p), "smaps_rollup"), "Pss_File:")
		s.Procs++
		s.RSSKiB += rss - rssFile
		s.PSSKiB += pss - pssFile
		s.FileRSSKiB += rssFile
	}
	return s, nil
}

// statusField returns the kB value of a "Name:   123 kB" line.
func statusField(path, name string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, []byte(name)) {
			continue
		}
		f := bytes.Fields(line[len(name):])
		if len(f) == 0 {
			break
		}
		return strconv.ParseInt(string(f[0]), 10, 64)
	}
	return 0, fmt.Errorf("%s: no %s line", path, name)
}

// descendants returns pid and every process below it.
func descendants(proc string, pid int) ([]int, error) {
	ents, err := os.ReadDir(proc)
	if err != nil {
		return nil, err
	}
	children := map[int][]int{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(proc, e.Name(), "stat"))
		if err != nil {
			continue
		}
		// "pid (comm) state ppid ..."; comm may hold spaces and parens.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := bytes.Fields(b[i+1:])
		if len(f) < 2 {
			continue
		}
		pp, err := strconv.Atoi(string(f[1]))
		if err != nil {
			continue
		}
		children[pp] = append(children[pp], p)
	}
	if _, err := os.Stat(filepath.Join(proc, strconv.Itoa(pid))); err != nil {
		return nil, fmt.Errorf("server pid %d: %w", pid, err)
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out, nil
}
