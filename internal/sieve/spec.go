package sieve

// The commands and tests this package knows, with their arguments
// (RFC 5228 §2.6: tagged arguments, then positional arguments, then tests
// or a block).

const noParam argKind = -1

type tagSpec struct {
	ext   string  // capability that must be required ("" = base language)
	param argKind // noParam, aNum, aStr or aList
	group string  // tags of one group exclude each other
}

type cmdSpec struct {
	ext    []string // one of these must be required (none = base language)
	tags   map[string]tagSpec
	pos    []argKind // positional arguments; aList also accepts a single string
	minPos int       // fewer may be given; the missing ones are the leading ones
	tests  int       // 0: none, 1: exactly one, -1: a test list
	block  bool
}

func tags(sets ...map[string]tagSpec) map[string]tagSpec {
	m := map[string]tagSpec{}
	for _, s := range sets {
		for k, v := range s {
			m[k] = v
		}
	}
	return m
}

var (
	matchTags = map[string]tagSpec{
		"is":         {param: noParam, group: "match"},
		"contains":   {param: noParam, group: "match"},
		"matches":    {param: noParam, group: "match"},
		"regex":      {ext: "regex", param: noParam, group: "match"},
		"value":      {ext: "relational", param: aStr, group: "match"},
		"count":      {ext: "relational", param: aStr, group: "match"},
		"comparator": {param: aStr},
	}
	addrTags = map[string]tagSpec{
		"all":       {param: noParam, group: "addrpart"},
		"localpart": {param: noParam, group: "addrpart"},
		"domain":    {param: noParam, group: "addrpart"},
		"user":      {ext: "subaddress", param: noParam, group: "addrpart"},
		"detail":    {ext: "subaddress", param: noParam, group: "addrpart"},
	}
	indexTags = map[string]tagSpec{
		"index": {ext: "index", param: aNum},
		"last":  {ext: "index", param: noParam},
	}
	mimeTags = map[string]tagSpec{
		"mime":        {ext: "mime", param: noParam},
		"anychild":    {ext: "mime", param: noParam},
		"type":        {ext: "mime", param: noParam, group: "mimeopt"},
		"subtype":     {ext: "mime", param: noParam, group: "mimeopt"},
		"contenttype": {ext: "mime", param: noParam, group: "mimeopt"},
		"param":       {ext: "mime", param: aList, group: "mimeopt"},
	}
	setModifiers = map[string]tagSpec{
		// RFC 5229 §4.1; each precedence class is one group
		"lower":         {param: noParam, group: "case"},
		"upper":         {param: noParam, group: "case"},
		"lowerfirst":    {param: noParam, group: "casefirst"},
		"upperfirst":    {param: noParam, group: "casefirst"},
		"quotewildcard": {param: noParam, group: "quote"},
		"length":        {param: noParam, group: "length"},
		// RFC 5435 §6 (precedence 15)
		"encodeurl": {ext: "enotify", param: noParam, group: "encodeurl"},
	}
	flagsTag = map[string]tagSpec{"flags": {ext: "imap4flags", param: aList}}
	copyTag  = map[string]tagSpec{"copy": {ext: "copy", param: noParam}}
)

var commands = map[string]*cmdSpec{
	"require": {pos: []argKind{aList}},
	"if":      {tests: 1, block: true},
	"elsif":   {tests: 1, block: true},
	"else":    {block: true},
	"stop":    {},
	"keep":    {tags: flagsTag},
	"discard": {},
	"fileinto": {ext: []string{"fileinto"}, pos: []argKind{aStr}, tags: tags(copyTag, flagsTag, map[string]tagSpec{
		"create":     {ext: "mailbox", param: noParam},
		"specialuse": {ext: "special-use", param: aStr},
	})},
	"redirect": {pos: []argKind{aStr}, tags: copyTag},
	"reject":   {ext: []string{"reject"}, pos: []argKind{aStr}},
	"ereject":  {ext: []string{"ereject"}, pos: []argKind{aStr}},
	"vacation": {ext: []string{"vacation"}, pos: []argKind{aStr}, tags: map[string]tagSpec{
		"days":      {param: aNum, group: "period"},
		"seconds":   {ext: "vacation-seconds", param: aNum, group: "period"},
		"subject":   {param: aStr},
		"from":      {param: aStr},
		"addresses": {param: aList},
		"mime":      {param: noParam},
		"handle":    {param: aStr},
	}},
	"set":        {ext: []string{"variables"}, pos: []argKind{aStr, aStr}, tags: setModifiers},
	"setflag":    {ext: []string{"imap4flags"}, pos: []argKind{aStr, aList}, minPos: 1},
	"addflag":    {ext: []string{"imap4flags"}, pos: []argKind{aStr, aList}, minPos: 1},
	"removeflag": {ext: []string{"imap4flags"}, pos: []argKind{aStr, aList}, minPos: 1},
	"include": {ext: []string{"include"}, pos: []argKind{aStr}, tags: map[string]tagSpec{
		"personal": {param: noParam, group: "location"},
		"global":   {param: noParam, group: "location"},
		"once":     {param: noParam},
		"optional": {param: noParam},
	}},
	"return":    {ext: []string{"include"}},
	"global":    {ext: []string{"include"}, pos: []argKind{aList}},
	"addheader": {ext: []string{"editheader"}, pos: []argKind{aStr, aStr}, tags: map[string]tagSpec{"last": {param: noParam}}},
	"deleteheader": {ext: []string{"editheader"}, pos: []argKind{aStr, aList}, minPos: 1, tags: tags(matchTags, map[string]tagSpec{
		// RFC 5293 §5: :index and :last belong to editheader itself
		"index": {param: aNum},
		"last":  {param: noParam},
	})},
	"foreverypart": {ext: []string{"foreverypart"}, block: true, tags: map[string]tagSpec{"name": {param: aStr}}},
	"break":        {ext: []string{"foreverypart"}, tags: map[string]tagSpec{"name": {param: aStr}}},
	"extracttext": {ext: []string{"extracttext"}, pos: []argKind{aStr}, tags: tags(setModifiers, map[string]tagSpec{
		"first": {param: aNum},
	})},
	// RFC 5435 §3.1
	"notify": {ext: []string{"enotify"}, pos: []argKind{aStr}, tags: map[string]tagSpec{
		"from":       {param: aStr},
		"importance": {param: aStr},
		"options":    {param: aList},
		"message":    {param: aStr},
	}},
	// RFC 5463 §5
	"error": {ext: []string{"ihave"}, pos: []argKind{aStr}},
	// RFC 5703 §5-6
	"replace": {ext: []string{"replace"}, pos: []argKind{aStr}, tags: map[string]tagSpec{
		"mime":    {param: noParam},
		"subject": {param: aStr},
		"from":    {param: aStr},
	}},
	"enclose": {ext: []string{"enclose"}, pos: []argKind{aStr}, tags: map[string]tagSpec{
		"subject": {param: aStr},
		"headers": {param: aList},
	}},
}

var tests = map[string]*cmdSpec{
	"address":  {pos: []argKind{aList, aList}, tags: tags(matchTags, addrTags, indexTags, mimeTags)},
	"envelope": {ext: []string{"envelope"}, pos: []argKind{aList, aList}, tags: tags(matchTags, addrTags)},
	"header":   {pos: []argKind{aList, aList}, tags: tags(matchTags, indexTags, mimeTags)},
	"exists":   {pos: []argKind{aList}, tags: mimeTags},
	"size": {pos: []argKind{aNum}, tags: map[string]tagSpec{
		"over":  {param: noParam, group: "size"},
		"under": {param: noParam, group: "size"},
	}},
	"true":              {},
	"false":             {},
	"not":               {tests: 1},
	"allof":             {tests: -1},
	"anyof":             {tests: -1},
	"string":            {ext: []string{"variables"}, pos: []argKind{aList, aList}, tags: matchTags},
	"hasflag":           {ext: []string{"imap4flags"}, pos: []argKind{aList, aList}, minPos: 1, tags: matchTags},
	"mailboxexists":     {ext: []string{"mailbox"}, pos: []argKind{aList}},
	"specialuse_exists": {ext: []string{"special-use"}, pos: []argKind{aStr, aList}, minPos: 1},
	"body": {ext: []string{"body"}, pos: []argKind{aList}, tags: tags(matchTags, map[string]tagSpec{
		"raw":     {param: noParam, group: "transform"},
		"content": {param: aList, group: "transform"},
		"text":    {param: noParam, group: "transform"},
	})},
	"date": {ext: []string{"date"}, pos: []argKind{aStr, aStr, aList}, tags: tags(matchTags, indexTags, map[string]tagSpec{
		"zone":         {param: aStr, group: "zone"},
		"originalzone": {param: noParam, group: "zone"},
	})},
	"currentdate": {ext: []string{"date"}, pos: []argKind{aStr, aList}, tags: tags(matchTags, map[string]tagSpec{
		"zone": {param: aStr},
	})},
	"duplicate": {ext: []string{"duplicate"}, tags: map[string]tagSpec{
		"handle":   {param: aStr},
		"header":   {param: aStr, group: "id"},
		"uniqueid": {param: aStr, group: "id"},
		"days":     {param: aNum, group: "period"},
		"seconds":  {param: aNum, group: "period"},
		"last":     {param: noParam},
	}},
	"spamtest":    {ext: []string{"spamtest", "spamtestplus"}, pos: []argKind{aStr}, tags: tags(matchTags, map[string]tagSpec{"percent": {ext: "spamtestplus", param: noParam}})},
	"virustest":   {ext: []string{"virustest"}, pos: []argKind{aStr}, tags: matchTags},
	"environment": {ext: []string{"environment"}, pos: []argKind{aStr, aList}, tags: matchTags},
	// RFC 5463 §4
	"ihave": {ext: []string{"ihave"}, pos: []argKind{aList}},
	// RFC 5435 §4-5
	"valid_notify_method":      {ext: []string{"enotify"}, pos: []argKind{aList}},
	"notify_method_capability": {ext: []string{"enotify"}, pos: []argKind{aStr, aStr, aList}, tags: matchTags},
}

// supported is the capability list, in the order ManageSieve announces it.
var supported = []string{
	"fileinto", "reject", "ereject", "envelope", "encoded-character",
	"vacation", "vacation-seconds", "subaddress", "comparator-i;ascii-numeric",
	"relational", "imap4flags", "copy", "include", "variables", "body",
	"mailbox", "date", "index", "editheader", "duplicate", "spamtest",
	"spamtestplus", "virustest", "mime", "foreverypart", "extracttext",
	"special-use", "environment", "regex", "ihave", "enotify", "replace",
	"enclose",
}

// Capabilities returns the SIEVE capability list (RFC 5804 §1.7), as
// ManageSieve announces it.
func Capabilities() []string { return append([]string(nil), supported...) }
