package managesieve

import (
	"strconv"
)

// RFC 5804 §2.5 HAVESPACE name size.
func handleHaveSpace(c *conn, cmd *Command) error {
	if err := c.srv.cfg.Scripts.HaveSpace(c.ctx(), c.account.ID, cmd.Args[0].Str, int64(cmd.Args[1].Num)); err != nil {
		c.scriptError(err)
		return nil
	}
	c.ok("", "Putscript would succeed.")
	return nil
}

// RFC 5804 §2.6 PUTSCRIPT name content: checked, then stored; warnings
// come back as OK (WARNINGS).
func handlePutScript(c *conn, cmd *Command) error {
	warn, err := c.srv.cfg.Scripts.Put(c.ctx(), c.account.ID, cmd.Args[0].Str, []byte(cmd.Args[1].Str))
	if err != nil {
		c.scriptError(err)
		return nil
	}
	if warn != "" {
		c.ok("WARNINGS", warn)
		return nil
	}
	c.ok("", "Putscript completed.")
	return nil
}

// RFC 5804 §2.12 CHECKSCRIPT content.
func handleCheckScript(c *conn, cmd *Command) error {
	warn, err := c.srv.cfg.Scripts.Check(c.ctx(), c.account.ID, []byte(cmd.Args[0].Str))
	if err != nil {
		c.scriptError(err)
		return nil
	}
	if warn != "" {
		c.ok("WARNINGS", warn)
		return nil
	}
	c.ok("", "Script is valid.")
	return nil
}

// RFC 5804 §2.7 LISTSCRIPTS: one line per script, the active one marked.
func handleListScripts(c *conn, _ *Command) error {
	list, err := c.srv.cfg.Scripts.List(c.ctx(), c.account.ID)
	if err != nil {
		c.scriptError(err)
		return nil
	}
	for _, sc := range list {
		if sc.Active {
			c.line(Quote(sc.Name) + " ACTIVE")
		} else {
			c.line(Quote(sc.Name))
		}
	}
	c.ok("", "Listscripts completed.")
	return nil
}

// RFC 5804 §2.8 SETACTIVE name ("" deactivates).
func handleSetActive(c *conn, cmd *Command) error {
	if err := c.srv.cfg.Scripts.SetActive(c.ctx(), c.account.ID, cmd.Args[0].Str); err != nil {
		c.scriptError(err)
		return nil
	}
	c.ok("", "Setactive completed.")
	return nil
}

// RFC 5804 §2.9 GETSCRIPT name: the script as a literal-s2c.
func handleGetScript(c *conn, cmd *Command) error {
	sc, err := c.srv.cfg.Scripts.Get(c.ctx(), c.account.ID, cmd.Args[0].Str)
	if err != nil {
		c.scriptError(err)
		return nil
	}
	c.bw.WriteString("{" + strconv.Itoa(len(sc.Script)) + "}\r\n")
	c.bw.Write(sc.Script)
	c.line("")
	c.ok("", "Getscript completed.")
	return nil
}

// RFC 5804 §2.10 DELETESCRIPT name.
func handleDeleteScript(c *conn, cmd *Command) error {
	if err := c.srv.cfg.Scripts.Delete(c.ctx(), c.account.ID, cmd.Args[0].Str); err != nil {
		c.scriptError(err)
		return nil
	}
	c.ok("", "Deletescript completed.")
	return nil
}

// RFC 5804 §2.11.1 RENAMESCRIPT old new.
func handleRenameScript(c *conn, cmd *Command) error {
	if err := c.srv.cfg.Scripts.Rename(c.ctx(), c.account.ID, cmd.Args[0].Str, cmd.Args[1].Str); err != nil {
		c.scriptError(err)
		return nil
	}
	c.ok("", "Renamescript completed.")
	return nil
}
