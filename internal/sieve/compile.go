package sieve

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Script is a compiled Sieve script, safe for concurrent Execute calls.
type Script struct {
	name    string
	cmds    []*node
	exts    map[string]bool // required capabilities
	enabled map[string]bool // capabilities available (ihave, RFC 5463)
	opts    Options
	// variables is exts["variables"], read for every string of a run
	variables bool
}

// Name is the name the script was compiled under.
func (s *Script) Name() string { return s.name }

// Extensions lists the capabilities the script requires.
func (s *Script) Extensions() []string {
	var l []string
	for k := range s.exts {
		l = append(l, k)
	}
	slices.Sort(l)
	return l
}

type compiler struct {
	name    string
	opts    Options
	inc     IncludeLoader
	enabled map[string]bool
	exts    map[string]bool
	diags   []Diag
	chain   []string // include chain for loop detection
	count   *int     // includes compiled in total
}

func (c *compiler) errf(line, col int, f string, a ...any) {
	c.diags = append(c.diags, Diag{Line: line, Col: col, Msg: fmt.Sprintf(f, a...)})
}

func (c *compiler) limitErr(line, col int, err error, f string, a ...any) {
	c.diags = append(c.diags, Diag{Line: line, Col: col, Msg: fmt.Sprintf(f, a...), Err: err})
}

// Compile parses and checks a script (RFC 5228 §2.10.5: errors are found
// before the script runs). Included scripts are loaded through inc and
// compiled with it (RFC 6609). The error is a *CompileError.
func Compile(name string, src []byte, opts Options, inc IncludeLoader) (*Script, error) {
	opts = opts.withDefaults()
	n := 0
	c := &compiler{name: name, opts: opts, inc: inc, count: &n, chain: []string{"personal:" + name}}
	return c.compile(src)
}

func (c *compiler) compile(src []byte) (*Script, error) {
	c.enabled = map[string]bool{}
	if c.opts.Extensions == nil {
		for _, e := range supported {
			c.enabled[e] = true
		}
	} else {
		for _, e := range c.opts.Extensions {
			if slices.Contains(supported, strings.ToLower(e)) {
				c.enabled[strings.ToLower(e)] = true
			}
		}
	}
	c.exts = map[string]bool{}
	if len(src) > c.opts.MaxScriptSize {
		c.limitErr(1, 1, ErrScriptTooLarge, "script is %d bytes, more than max_script_size (%d)", len(src), c.opts.MaxScriptSize)
		return nil, &CompileError{Name: c.name, Errors: c.diags}
	}
	cmds, serr := parse(string(src), c.opts.MaxNestingDepth)
	if serr != nil {
		c.diags = append(c.diags, Diag{Line: serr.line, Col: serr.col, Msg: serr.msg, Err: serr.err})
		return nil, &CompileError{Name: c.name, Errors: c.diags}
	}
	s := &Script{name: c.name, cmds: cmds, exts: c.exts, enabled: c.enabled, opts: c.opts}
	defer func() { s.variables = c.exts["variables"] }()
	c.requires(cmds)
	c.block(cmds, true, nil)
	if c.exts["variables"] {
		c.checkVariables(cmds)
	}
	if len(c.diags) > 0 {
		return nil, &CompileError{Name: c.name, Errors: c.diags}
	}
	return s, nil
}

// maxForEveryPartNesting bounds nested foreverypart loops (Pigeonhole's
// limit too).
const maxForEveryPartNesting = 4

// block checks a command list; loops are the names ("" for none) of the
// enclosing foreverypart loops.
func (c *compiler) block(cmds []*node, top bool, loops []string) {
	prevIf := false
	requireOK := top
	for _, n := range cmds {
		spec := commands[n.name]
		if spec == nil {
			if tests[n.name] != nil {
				c.errf(n.line, n.col, "%s is a test, not a command", n.name)
			} else {
				c.errf(n.line, n.col, "unknown command '%s'", n.name)
			}
			prevIf = false
			continue
		}
		if n.name == "require" {
			if !requireOK {
				// RFC 5228 §3.2
				c.errf(n.line, n.col, "require must come before any other command")
			}
		} else {
			requireOK = false
		}
		if (n.name == "elsif" || n.name == "else") && !prevIf {
			c.errf(n.line, n.col, "%s without a preceding if", n.name)
		}
		prevIf = n.name == "if" || n.name == "elsif"
		if n.name == "foreverypart" && len(loops) >= maxForEveryPartNesting {
			c.limitErr(n.line, n.col, ErrNestingTooDeep, "foreverypart nested deeper than %d levels", maxForEveryPartNesting)
		}
		if n.name == "extracttext" && len(loops) == 0 {
			// RFC 5703 §7
			c.errf(n.line, n.col, "extracttext is not inside a foreverypart loop")
		}
		if n.name == "break" && len(loops) == 0 {
			c.errf(n.line, n.col, "break outside foreverypart")
		}
		c.check(n, spec, false)
		if n.name == "break" && len(loops) > 0 {
			// RFC 5703 §3.1: :name must name an enclosing loop
			if p := n.tags["name"]; p != nil && p.kind == aStr && !slices.Contains(loops, p.strs[0]) {
				c.errf(n.line, n.col, "break :name \"%s\" names no enclosing foreverypart", p.strs[0])
			}
		}
		if (n.name == "if" || n.name == "elsif") && len(n.tests) == 1 && c.ihaveUnavailable(n.tests[0]) {
			// RFC 5463 §4: a block guarded by an ihave of a capability
			// that is not available is not checked, and never runs
			n.unchecked = true
			continue
		}
		if n.hasBlock {
			l := loops
			if n.name == "foreverypart" {
				name := ""
				if p := n.tags["name"]; p != nil && p.kind == aStr {
					name = p.strs[0]
				}
				l = append(slices.Clone(loops), name)
			}
			c.block(n.block, false, l)
		}
		if n.name == "include" {
			c.include(n)
		}
	}
}

// requires collects the capabilities of the leading require commands
// (RFC 5228 §3.2) before anything else is checked, and applies
// encoded-character (RFC 5228 §2.4.2.4) to every string when required.
func (c *compiler) requires(cmds []*node) {
	for _, n := range cmds {
		if n.name != "require" {
			break
		}
		for _, a := range n.args {
			if a.kind != aStr && a.kind != aList {
				continue
			}
			for _, e := range a.strs {
				// capability names are case-sensitive, as in Pigeonhole
				le := e
				switch {
				case le == "comparator-i;octet" || le == "comparator-i;ascii-casemap":
					c.exts[le] = true
				case c.enabled[le]:
					c.exts[le] = true
					if le == "extracttext" {
						// RFC 5703 §7: extracttext builds on both
						for _, dep := range []string{"variables", "foreverypart"} {
							if !slices.Contains(requiredNames(cmds), dep) {
								c.errf(n.line, n.col, "extracttext can not be used without the %s extension", dep)
							}
						}
					}
					// RFC 6131 §2, RFC 5235 §3.2, RFC 5703 §3: these
					// imply their base extension
					switch le {
					case "vacation-seconds":
						c.exts["vacation"] = true
					case "spamtestplus":
						c.exts["spamtest"] = true
					}
				default:
					// RFC 5228 §3.2: an unknown capability is an error
					c.errf(n.line, n.col, "unknown Sieve capability '%s'", e)
				}
			}
		}
	}
	if c.exts["encoded-character"] {
		for _, n := range cmds {
			if n.name != "require" {
				c.decodeEncoded(n)
			}
		}
	}
}

func requiredNames(cmds []*node) []string {
	var out []string
	for _, n := range cmds {
		if n.name != "require" {
			break
		}
		for _, a := range n.args {
			out = append(out, a.strs...)
		}
	}
	return out
}

// check validates one command or test against its spec and sorts its
// arguments into tags and positional arguments.
func (c *compiler) check(n *node, spec *cmdSpec, isTest bool) {
	if len(spec.ext) > 0 && !c.hasAny(spec.ext) {
		what := "command"
		if isTest {
			what = "test"
		}
		c.errf(n.line, n.col, "%s '%s' requires the %s extension (require \"%s\";)", what, n.name, spec.ext[0], spec.ext[0])
	}
	n.tags = map[string]*arg{}
	groups := map[string]string{}
	before := len(c.diags)
	args := n.args
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a.kind != aTag {
			n.pos = append(n.pos, a)
			continue
		}
		if len(n.pos) > 0 {
			c.errf(a.line, a.col, "tag :%s after a positional argument of %s", a.tag, n.name)
			return
		}
		ts, ok := spec.tags[a.tag]
		if !ok {
			c.errf(a.line, a.col, "unknown tag :%s for %s", a.tag, n.name)
			continue
		}
		if ts.ext != "" && !c.exts[ts.ext] {
			c.errf(a.line, a.col, "tag :%s of %s requires the %s extension", a.tag, n.name, ts.ext)
		}
		if _, dup := n.tags[a.tag]; dup {
			c.errf(a.line, a.col, "tag :%s given twice", a.tag)
		}
		if ts.group != "" {
			if o, ok := groups[ts.group]; ok {
				c.errf(a.line, a.col, "tags :%s and :%s can not be used together", o, a.tag)
			}
			groups[ts.group] = a.tag
		}
		var p *arg
		if ts.param != noParam {
			if i+1 >= len(args) || !paramFits(ts.param, args[i+1]) {
				c.errf(a.line, a.col, "tag :%s of %s needs a %s", a.tag, n.name, kindName(ts.param))
				continue
			}
			i++
			p = args[i]
		}
		n.tags[a.tag] = p
	}
	if len(n.pos) > len(spec.pos) || len(n.pos) < len(spec.pos) && (spec.minPos == 0 || len(n.pos) < spec.minPos) {
		c.errf(n.line, n.col, "%s takes %d positional argument(s), got %d", n.name, len(spec.pos), len(n.pos))
		return
	}
	want := spec.pos[len(spec.pos)-len(n.pos):]
	for i, a := range n.pos {
		if !paramFits(want[i], a) {
			c.errf(a.line, a.col, "argument %d of %s must be a %s", i+1, n.name, kindName(want[i]))
		}
	}
	switch {
	case spec.tests == 0 && len(n.tests) > 0:
		c.errf(n.line, n.col, "%s takes no test", n.name)
	case spec.tests == 1 && (len(n.tests) != 1 || n.testList):
		c.errf(n.line, n.col, "%s needs exactly one test", n.name)
	case spec.tests == -1 && !n.testList:
		c.errf(n.line, n.col, "%s needs a test list in parentheses", n.name)
	}
	if spec.block && !n.hasBlock {
		c.errf(n.line, n.col, "%s needs a block", n.name)
	}
	if !spec.block && n.hasBlock {
		c.errf(n.line, n.col, "%s takes no block", n.name)
	}
	if len(c.diags) == before {
		// semantic checks rely on the argument types being right
		c.semantic(n)
	}
	// what a run needs of the tags, once (node.matcher)
	m := tagMatcher(n)
	n.matcher = &m
	n.addrPart = tagAddressPart(n)
	_, n.mime = n.tags["mime"]
	for _, t := range n.tests {
		ts := tests[t.name]
		if ts == nil {
			if commands[t.name] != nil {
				c.errf(t.line, t.col, "%s is a command, not a test", t.name)
			} else {
				c.errf(t.line, t.col, "unknown test '%s'", t.name)
			}
			continue
		}
		c.check(t, ts, true)
	}
}

func paramFits(k argKind, a *arg) bool {
	switch k {
	case aNum:
		return a.kind == aNum
	case aStr:
		return a.kind == aStr
	case aList:
		return a.kind == aStr || a.kind == aList
	}
	return false
}

func kindName(k argKind) string {
	switch k {
	case aNum:
		return "number"
	case aStr:
		return "string"
	case aList:
		return "string list"
	}
	return "tag"
}

func (c *compiler) hasAny(exts []string) bool {
	for _, e := range exts {
		if c.exts[e] {
			return true
		}
	}
	return false
}

// semantic checks what the spec table can not express.
func (c *compiler) semantic(n *node) {
	// comparators (RFC 5228 §2.7.3) and match types
	if p, ok := n.tags["comparator"]; ok && p != nil {
		name := strings.ToLower(p.strs[0])
		switch name {
		case "i;octet", "i;ascii-casemap":
		case "i;ascii-numeric":
			if !c.exts["comparator-i;ascii-numeric"] {
				c.errf(p.line, p.col, "comparator i;ascii-numeric requires \"comparator-i;ascii-numeric\"")
			}
			// RFC 4790 §9.1: no substring operations
			if _, ok := n.tags["contains"]; ok {
				c.errf(p.line, p.col, "comparator i;ascii-numeric does not support :contains")
			}
			if _, ok := n.tags["matches"]; ok {
				c.errf(p.line, p.col, "comparator i;ascii-numeric does not support :matches")
			}
			if _, ok := n.tags["regex"]; ok {
				c.errf(p.line, p.col, "comparator i;ascii-numeric does not support :regex")
			}
		default:
			c.errf(p.line, p.col, "unknown comparator '%s'", p.strs[0])
		}
	}
	for _, rel := range []string{"value", "count"} {
		if p, ok := n.tags[rel]; ok && p != nil {
			switch strings.ToLower(p.strs[0]) {
			case "gt", "ge", "lt", "le", "eq", "ne":
			default:
				// RFC 5231 §4
				c.errf(p.line, p.col, "invalid relational operator '%s'", p.strs[0])
			}
		}
	}
	if _, ok := n.tags["regex"]; ok {
		// literal patterns must compile (Pigeonhole checks them too)
		m := newMatcher(n)
		if len(n.pos) > 0 {
			for _, k := range n.pos[len(n.pos)-1].strs {
				if strings.Contains(k, "${") && c.exts["variables"] {
					continue
				}
				re, err := m.compileRegex(k)
				if err != nil {
					c.errf(n.line, n.col, "invalid regular expression '%s': %v", k, err)
					continue
				}
				if n.regexes == nil {
					n.regexes = map[string]*regexp.Regexp{}
				}
				n.regexes[k] = re
			}
		}
	}
	switch n.name {
	case "size":
		if len(n.tags) != 1 {
			c.errf(n.line, n.col, "size needs :over or :under")
		}
	case "envelope":
		if len(n.pos) == 2 {
			for _, p := range n.pos[0].strs {
				switch strings.ToLower(p) {
				case "from", "to", "auth", "orig_to":
				default:
					if !c.exts["variables"] || !strings.Contains(p, "${") {
						c.errf(n.line, n.col, "unknown envelope part '%s'", p)
					}
				}
			}
		}
	case "address":
		// RFC 5228 §5.1: the address test is for headers that hold
		// addresses; Pigeonhole refuses other literal names
		if len(n.pos) == 2 {
			for _, h := range n.pos[0].strs {
				if !strings.Contains(h, "${") && !addressHeaders[strings.ToLower(h)] {
					c.errf(n.line, n.col, "specified header '%s' is not allowed for the address test", h)
				}
			}
		}
	case "addheader", "deleteheader":
		// RFC 5293 §4-5: a literal field name must be valid, a value
		// must not hold NUL (Pigeonhole checks both at compile time)
		if name := n.pos[0].strs[0]; !strings.Contains(name, "${") && !validFieldName(name) {
			c.errf(n.line, n.col, "%s: invalid header field name '%s'", n.name, name)
		}
		if n.name == "addheader" && strings.ContainsRune(n.pos[1].strs[0], 0) {
			c.errf(n.line, n.col, "addheader: the value contains a NUL character")
		}
	case "set", "extracttext":
		if len(n.pos) >= 1 && !validVarName(n.pos[0].strs[0], false) {
			c.errf(n.line, n.col, "invalid variable name '%s'", n.pos[0].strs[0])
		}
	case "global":
		// RFC 6609 §3.5
		if !c.exts["variables"] {
			c.errf(n.line, n.col, "global needs the variables extension")
		}
		if len(n.pos) == 1 {
			for _, v := range n.pos[0].strs {
				if !validVarName(v, false) {
					c.errf(n.line, n.col, "invalid variable name '%s'", v)
				}
			}
		}
	case "date", "currentdate":
		if len(n.pos) >= 2 {
			dp := n.pos[len(n.pos)-2].strs[0]
			if _, ok := dateParts[strings.ToLower(dp)]; !ok && !strings.Contains(dp, "${") {
				c.errf(n.line, n.col, "unknown date part '%s'", dp)
			}
		}
	case "vacation":
		if p := n.tags["from"]; p != nil && !strings.Contains(p.strs[0], "${") {
			if _, ok := parseMailbox(p.strs[0]); !ok {
				c.errf(p.line, p.col, "vacation :from is not a valid address: %s", p.strs[0])
			}
		}
	case "redirect":
		if len(n.pos) == 1 && !strings.Contains(n.pos[0].strs[0], "${") {
			if _, ok := parseMailbox(n.pos[0].strs[0]); !ok {
				// RFC 5228 §4.2
				c.errf(n.line, n.col, "redirect: invalid address '%s'", n.pos[0].strs[0])
			}
		}
	case "ihave":
		c.ihaveEnable(n)
	case "notify":
		c.checkNotify(n)
	case "replace":
		if p := n.tags["from"]; p != nil && (!strings.Contains(p.strs[0], "${") || !c.exts["variables"]) {
			if _, ok := parseMailboxList(p.strs[0]); !ok {
				// RFC 5703 §5
				c.errf(p.line, p.col, "replace :from is not a valid mailbox list: %s", p.strs[0])
			}
		}
	}
	if _, ok := n.tags["encodeurl"]; ok && !c.exts["variables"] {
		c.errf(n.line, n.col, ":encodeurl needs the variables extension")
	}
	if p, ok := n.tags["index"]; ok && p != nil && p.num < 1 {
		c.errf(p.line, p.col, ":index must be 1 or more")
	}
	if _, ok := n.tags["last"]; ok && n.name != "addheader" && n.name != "duplicate" {
		if _, ok := n.tags["index"]; !ok {
			c.errf(n.line, n.col, ":last needs :index")
		}
	}
	if n.name == "header" || n.name == "address" || n.name == "exists" {
		if _, any := n.tags["anychild"]; any {
			if _, ok := n.tags["mime"]; !ok {
				c.errf(n.line, n.col, ":anychild needs :mime")
			}
		}
	}
}

// addressHeaders are the fields the address test accepts: those of
// RFC 5228 §5.1, RFC 5322 and the non-standard address fields of RFC 2076
// that Pigeonhole also accepts.
var addressHeaders = map[string]bool{}

func init() {
	for _, h := range strings.Fields(`from to cc bcc sender resent-from resent-to
		reply-to resent-reply-to resent-sender resent-cc resent-bcc
		for-approval for-handling for-comment apparently-to errors-to
		delivered-to return-receipt-to x-admin read-receipt-to
		x-confirm-reading-to return-receipt-requested
		registered-mail-reply-requested-by mail-followup-to mail-reply-to
		abuse-reports-to x-complaints-to x-report-abuse-to x-beenthere
		x-original-to`) {
		addressHeaders[h] = true
	}
}

// Limits of the variables extension, as in Pigeonhole.
const (
	maxVarNameLen     = 64
	maxMatchIndex     = 32
	maxScopeVariables = 255
)

// validVarName: RFC 5229 §3 identifier, optionally with a namespace.
func validVarName(s string, allowNum bool) bool {
	if s == "" || len(s) > maxVarNameLen {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" || !isAlpha(part[0]) {
			return false
		}
		for i := 0; i < len(part); i++ {
			if !isAlpha(part[i]) && !isDigit(part[i]) {
				return false
			}
		}
	}
	return true
}

// checkVariables: RFC 5229 §3: references into unknown namespaces are
// errors, as are match variables past ${32} and more than 255 variables
// in one script (Pigeonhole's limits).
func (c *compiler) checkVariables(cmds []*node) {
	known := map[string]bool{}
	if c.exts["include"] {
		known["global"] = true
	}
	if c.exts["environment"] {
		known["env"] = true
	}
	names := map[string]bool{}
	checkName := func(n *node, v string) {
		if k := strings.IndexByte(v, '.'); k >= 0 {
			if !known[strings.ToLower(v[:k])] {
				c.errf(n.line, n.col, "referring to variable in unknown namespace '%s'", v[:k])
			}
			return
		}
		names[strings.ToLower(v)] = true
	}
	var walk func(ns []*node)
	walk = func(ns []*node) {
		for _, n := range ns {
			if n.name == "require" {
				continue
			}
			switch n.name {
			case "set", "extracttext":
				if len(n.pos) > 0 && n.pos[0].kind == aStr {
					checkName(n, n.pos[0].strs[0])
				}
			}
			for _, a := range n.args {
				for _, s := range a.strs {
					for _, ref := range varRefs(s) {
						if isDigit(ref[0]) {
							if k, err := strconv.Atoi(ref); err != nil || k > maxMatchIndex {
								c.errf(a.line, a.col, "match variable ${%s} is beyond ${%d}", ref, maxMatchIndex)
							}
							continue
						}
						if k := strings.IndexByte(ref, '.'); k >= 0 && !known[strings.ToLower(ref[:k])] {
							c.errf(a.line, a.col, "referring to variable in unknown namespace '%s'", ref[:k])
						}
					}
				}
			}
			walk(n.tests)
			if !n.unchecked {
				walk(n.block)
			}
		}
	}
	walk(cmds)
	if len(names) > maxScopeVariables {
		c.errf(1, 1, "more than %d variables", maxScopeVariables)
	}
}

// varRefs lists the variable references "${...}" in s that are
// syntactically valid (RFC 5229 §3).
func varRefs(s string) []string {
	var out []string
	for {
		k := strings.Index(s, "${")
		if k < 0 {
			return out
		}
		s = s[k+2:]
		e := strings.IndexByte(s, '}')
		if e < 0 {
			return out
		}
		name := s[:e]
		if name != "" && (strings.Trim(name, "0123456789") == "" || validVarName(name, false)) {
			out = append(out, name)
			s = s[e+1:]
		}
	}
}

// include compiles an included script at compile time (RFC 6609 §3.2),
// so missing scripts and loops are found at upload.
func (c *compiler) include(n *node) {
	if len(n.pos) != 1 {
		return
	}
	name := n.pos[0].strs[0]
	_, global := n.tags["global"]
	_, n.incOnce = n.tags["once"]
	_, n.incOptional = n.tags["optional"]
	// RFC 6609 §3.2: the name must not contain "/" and be a plain name
	if name == "" || strings.ContainsAny(name, "/\x00") {
		c.errf(n.line, n.col, "include: invalid script name '%s'", name)
		return
	}
	key := "personal:" + name
	if global {
		key = "global:" + name
	}
	if slices.Contains(c.chain, key) {
		if !n.incOnce {
			c.limitErr(n.line, n.col, ErrIncludeLoop, "include of '%s' loops", name)
		}
		return
	}
	if len(c.chain) > c.opts.MaxIncludeDepth {
		c.limitErr(n.line, n.col, ErrIncludeTooDeep, "include nested deeper than max_include_depth (%d)", c.opts.MaxIncludeDepth)
		return
	}
	*c.count++
	if *c.count > DefaultMaxIncludes {
		c.limitErr(n.line, n.col, ErrTooManyIncludes, "more than %d includes", DefaultMaxIncludes)
		return
	}
	if c.inc == nil {
		if !n.incOptional {
			c.limitErr(n.line, n.col, ErrMissingIncludeLoader, "include of '%s': no script storage", name)
		}
		return
	}
	src, err := c.inc(name, global)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && n.incOptional {
			return
		}
		c.errf(n.line, n.col, "include of '%s' failed: %v", name, err)
		return
	}
	sub := &compiler{name: name, opts: c.opts, inc: c.inc, count: c.count, chain: append(slices.Clone(c.chain), key)}
	s, err := sub.compile(src)
	if err != nil {
		var ce *CompileError
		if errors.As(err, &ce) {
			for _, d := range ce.Errors {
				c.diags = append(c.diags, Diag{Line: n.line, Col: n.col, Msg: fmt.Sprintf("included script '%s' line %d: %s", name, d.Line, d.Msg), Err: d.Err})
			}
		}
		return
	}
	n.inc = s
}
