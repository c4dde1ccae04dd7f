package imap

// Capability names as they appear in a CAPABILITY response
// (RFC 9051 §7.2.2), for the extensions barid supports.
const (
	CapIMAP4rev1     = "IMAP4rev1"        // RFC 3501
	CapIMAP4rev2     = "IMAP4rev2"        // RFC 9051
	CapStartTLS      = "STARTTLS"         // RFC 9051 §6.2.1
	CapLoginDisabled = "LOGINDISABLED"    // RFC 9051 §6.2.3: LOGIN refused (e.g. before TLS)
	CapAuthPlain     = "AUTH=PLAIN"       // RFC 4616 (SASL PLAIN), RFC 9051 §6.2.2
	CapSASLIR        = "SASL-IR"          // RFC 4959: initial response in AUTHENTICATE
	CapLiteralPlus   = "LITERAL+"         // RFC 7888 §4: non-synchronizing literals of any size
	CapLiteralMinus  = "LITERAL-"         // RFC 7888 §5: non-synchronizing literals up to 4096 bytes
	CapEnable        = "ENABLE"           // RFC 5161
	CapIdle          = "IDLE"             // RFC 2177, RFC 9051 §6.3.13
	CapNamespace     = "NAMESPACE"        // RFC 2342, RFC 9051 §6.3.10
	CapUIDPlus       = "UIDPLUS"          // RFC 4315: UID EXPUNGE, APPENDUID, COPYUID
	CapUnselect      = "UNSELECT"         // RFC 3691
	CapMove          = "MOVE"             // RFC 6851
	CapChildren      = "CHILDREN"         // RFC 3348: \HasChildren / \HasNoChildren
	CapListExtended  = "LIST-EXTENDED"    // RFC 5258
	CapListStatus    = "LIST-STATUS"      // RFC 5819: LIST ... RETURN (STATUS (...))
	CapSpecialUse    = "SPECIAL-USE"      // RFC 6154
	CapStatusSize    = "STATUS=SIZE"      // RFC 8438
	CapID            = "ID"               // RFC 2971
	CapAppendLimit   = "APPENDLIMIT"      // RFC 7889; advertised as APPENDLIMIT=<n> when global
	CapUTF8Accept    = "UTF8=ACCEPT"      // RFC 6855 §3
	CapBinary        = "BINARY"           // RFC 3516
	CapESearch       = "ESEARCH"          // RFC 4731
	CapSearchRes     = "SEARCHRES"        // RFC 5182: SEARCH RETURN (SAVE) and "$"
	CapCondStore     = "CONDSTORE"        // RFC 7162 §3.1
	CapQResync       = "QRESYNC"          // RFC 7162 §3.2
	CapSaveDate      = "SAVEDATE"         // RFC 8514
	CapObjectID      = "OBJECTID"         // RFC 8474: EMAILID, THREADID, MAILBOXID
	CapCompress      = "COMPRESS=DEFLATE" // RFC 4978
)
