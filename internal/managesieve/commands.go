package managesieve

import (
	"slices"
	"strconv"
	"strings"
)

// entry is one command of the table: the states it is allowed in, its
// argument count and kinds (missing kinds are strings), and its handler.
type entry struct {
	states   state
	min, max int
	kinds    []ArgKind
	usage    string
	fn       func(c *conn, cmd *Command) error
}

const anyState = stateNonAuth | stateAuth

// commands is the RFC 5804 §2 command table.
var commands map[string]entry

func init() {
	commands = map[string]entry{
		"CAPABILITY":     {anyState, 0, 0, nil, "no arguments", handleCapability},                                         // §2.4
		"LOGOUT":         {anyState, 0, 0, nil, "no arguments", handleLogout},                                             // §2.3
		"NOOP":           {anyState, 0, 1, nil, "an optional string", handleNoop},                                         // §2.13
		"STARTTLS":       {stateNonAuth, 0, 0, nil, "no arguments", handleStartTLS},                                       // §2.2
		"AUTHENTICATE":   {stateNonAuth, 1, 2, nil, "a mechanism and an optional initial response", handleAuthenticate},   // §2.1
		"UNAUTHENTICATE": {stateAuth, 0, 0, nil, "no arguments", handleUnauthenticate},                                    // §2.14
		"HAVESPACE":      {stateAuth, 2, 2, []ArgKind{ArgString, ArgNumber}, "a script name and a size", handleHaveSpace}, // §2.5
		"PUTSCRIPT":      {stateAuth, 2, 2, nil, "a script name and a script", handlePutScript},                           // §2.6
		"LISTSCRIPTS":    {stateAuth, 0, 0, nil, "no arguments", handleListScripts},                                       // §2.7
		"SETACTIVE":      {stateAuth, 1, 1, nil, "a script name", handleSetActive},                                        // §2.8
		"GETSCRIPT":      {stateAuth, 1, 1, nil, "a script name", handleGetScript},                                        // §2.9
		"DELETESCRIPT":   {stateAuth, 1, 1, nil, "a script name", handleDeleteScript},                                     // §2.10
		"RENAMESCRIPT":   {stateAuth, 2, 2, nil, "the old and the new script name", handleRenameScript},                   // §2.11.1
		"CHECKSCRIPT":    {stateAuth, 1, 1, nil, "a script", handleCheckScript},                                           // §2.12
	}
}

// capabilities lists the RFC 5804 §1.7 capabilities for the session.
func (c *conn) capabilities() [][2]string {
	caps := [][2]string{
		{"IMPLEMENTATION", c.srv.cfg.Implementation},
		{"SIEVE", strings.Join(c.srv.cfg.Extensions, " ")},
	}
	if slices.Contains(c.srv.cfg.Extensions, "enotify") && len(c.srv.cfg.NotifyMethods) > 0 {
		// RFC 5804 §1.7: required with enotify
		caps = append(caps, [2]string{"NOTIFY", strings.Join(c.srv.cfg.NotifyMethods, " ")})
	}
	if c.state == stateNonAuth {
		caps = append(caps, [2]string{"SASL", strings.Join(c.mechanisms(), " ")})
		if !c.tls && c.srv.cfg.TLS != nil {
			caps = append(caps, [2]string{"STARTTLS", ""})
		}
	}
	caps = append(caps, [2]string{"MAXREDIRECTS", strconv.Itoa(c.srv.cfg.MaxRedirects)})
	if c.state == stateAuth && c.account != nil {
		caps = append(caps, [2]string{"OWNER", c.account.Name}) // §1.7
	}
	caps = append(caps,
		[2]string{"UNAUTHENTICATE", ""}, // §2.14.1
		[2]string{"VERSION", "1.0"},     // §1.7: this document
	)
	return caps
}

func (c *conn) writeCapabilities() {
	for _, kv := range c.capabilities() {
		if kv[1] == "" && kv[0] != "SIEVE" && kv[0] != "SASL" {
			c.line(Quote(kv[0]))
			continue
		}
		c.line(Quote(kv[0]) + " " + Quote(kv[1]))
	}
}

// RFC 5804 §2.4 CAPABILITY.
func handleCapability(c *conn, _ *Command) error {
	c.writeCapabilities()
	c.ok("", "Capability completed.")
	return nil
}

// RFC 5804 §2.3 LOGOUT (errata 7825: the answer is OK).
func handleLogout(c *conn, _ *Command) error {
	c.ok("", "Logout completed.")
	return errLogout
}

// RFC 5804 §2.13 NOOP [tag]: the tag comes back as (TAG "...").
func handleNoop(c *conn, cmd *Command) error {
	if len(cmd.Args) == 1 {
		c.ok("TAG "+Quote(cmd.Args[0].Str), "Done")
		return nil
	}
	c.ok("", "NOOP completed.")
	return nil
}

// RFC 5804 §2.14 UNAUTHENTICATE: back to the non-authenticated state
// (the TLS layer stays).
func handleUnauthenticate(c *conn, _ *Command) error {
	if c.releaseUser != nil {
		c.releaseUser()
		c.releaseUser = nil
	}
	c.account = nil
	c.state = stateNonAuth
	c.commands = 0
	c.log = c.srv.log.With("proto", "managesieve", "conn", c.id, "remote", c.remote.String())
	c.ok("", "Unauthenticate completed.")
	return nil
}
