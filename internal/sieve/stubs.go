package sieve

type headerEdit struct{ changed bool }

func (h *headerEdit) get(string) []string { return nil }
func (h *headerEdit) bytes() []byte       { return nil }

type mimePart struct{}
type parsedMsg struct{}

var dateParts = map[string]bool{}

func (i *interp) mimeHeader(n *node, name string) []string { i.fail(n, nil, "not implemented"); return nil }
func (i *interp) editHeader(n *node)                        { i.fail(n, nil, "not implemented") }
func (i *interp) forEveryPart(n *node) flow                 { i.fail(n, nil, "not implemented"); return 0 }
func (i *interp) extractText(n *node)                       { i.fail(n, nil, "not implemented") }
func (i *interp) specialUseExists(n *node) bool             { i.fail(n, nil, "not implemented"); return false }
func (i *interp) body(n *node) bool                         { i.fail(n, nil, "not implemented"); return false }
func (i *interp) date(n *node) bool                         { i.fail(n, nil, "not implemented"); return false }
func (i *interp) duplicate(n *node) bool                    { i.fail(n, nil, "not implemented"); return false }
func (i *interp) spamTest(n *node) bool                     { i.fail(n, nil, "not implemented"); return false }
func (i *interp) environment(n *node) bool                  { i.fail(n, nil, "not implemented"); return false }
func (i *interp) envItem(string) (string, bool)             { return "", false }
