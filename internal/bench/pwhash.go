package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/crypto/argon2"
)

// runPwhash prints an argon2id hash in PHC string form
// ($argon2id$v=19$m=...,t=...,p=...$salt$hash) of the password read from
// stdin. The benchmark script uses it to give Dovecot's passwd-file the
// same hash cost barid uses, so LOGIN costs the same on both servers.
func runPwhash(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("pwhash", stderr)
	mem := fs.Uint("m", 19*1024, "argon2id memory in KiB")
	t := fs.Uint("t", 2, "argon2id passes")
	p := fs.Uint("p", 1, "argon2id lanes")
	if st := parseFlags(fs, args); st >= 0 {
		return st
	}
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && line == "" {
		fmt.Fprintf(stderr, "bench pwhash: reading the password from stdin: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, argon2idPHC(strings.TrimRight(line, "\r\n"), uint32(*mem), uint32(*t), uint8(*p)))
	return 0
}

func argon2idPHC(pw string, mem, t uint32, p uint8) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, t, mem, p, 32)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, mem, t, p,
		enc.EncodeToString(salt), enc.EncodeToString(key))
}
