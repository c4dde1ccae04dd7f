package managesieve_test

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"

	"github.com/xdg-go/scram"
)

// SCRAM-SHA-256 with xdg-go/scram's client: the server's final message
// arrives in the OK as (SASL "...") (RFC 5804 §2.1), and the client
// verifies it.
func TestSCRAM(t *testing.T) {
	t.Parallel()
	f := startServer(t)
	f.addUser("hana", "scram pw")
	client, err := scram.SHA256.NewClient("hana", "scram pw", "")
	if err != nil {
		t.Fatal(err)
	}
	conv := client.NewConversation()
	first, _ := conv.Step("")
	c := f.dial()
	c.response()
	c.send(`AUTHENTICATE "SCRAM-SHA-256" "` + b64(first) + "\"\r\n")
	chal := c.readLine()
	m := regexp.MustCompile(`^"([A-Za-z0-9+/=]+)"$`).FindStringSubmatch(chal)
	if m == nil {
		t.Fatalf("challenge: %q", chal)
	}
	sf, _ := base64.StdEncoding.DecodeString(m[1])
	final, err := conv.Step(string(sf))
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	c.send(`"` + b64(final) + "\"\r\n")
	ok := c.readLine()
	m = regexp.MustCompile(`^OK \(SASL "([A-Za-z0-9+/=]+)"\) "Logged in\."$`).FindStringSubmatch(ok)
	if m == nil {
		t.Fatalf("OK: %q", ok)
	}
	v, _ := base64.StdEncoding.DecodeString(m[1])
	if _, err := conv.Step(string(v)); err != nil || !conv.Valid() {
		t.Fatalf("server final %q not valid: %v", v, err)
	}
	c.send("LISTSCRIPTS\r\n")
	if r := c.response(); !strings.HasPrefix(r[0], "OK") {
		t.Fatalf("after SCRAM: %q", r)
	}
}
