package imap

// Response codes, the bracketed part of resp-text-code (RFC 9051 §7.1).
const (
	// RFC 5530 §3 (all also in RFC 9051 §7.1).
	CodeUnavailable          = "UNAVAILABLE"          // temporary failure of a subsystem
	CodeAuthenticationFailed = "AUTHENTICATIONFAILED" // bad credentials
	CodeAuthorizationFailed  = "AUTHORIZATIONFAILED"  // credentials fine, but may not act as that user
	CodeExpired              = "EXPIRED"              // credentials expired
	CodePrivacyRequired      = "PRIVACYREQUIRED"      // needs TLS or similar
	CodeContactAdmin         = "CONTACTADMIN"         // user should contact the administrator
	CodeNoPerm               = "NOPERM"               // ACL forbids it
	CodeInUse                = "INUSE"                // resource in use elsewhere
	CodeExpungeIssued        = "EXPUNGEISSUED"        // a message was expunged by someone else
	CodeCorruption           = "CORRUPTION"           // server-side data corruption
	CodeServerBug            = "SERVERBUG"            // the server hit a bug
	CodeClientBug            = "CLIENTBUG"            // the client is doing something wrong
	CodeCannot               = "CANNOT"               // can never succeed (e.g. bad name)
	CodeLimit                = "LIMIT"                // a server limit was hit
	CodeOverQuota            = "OVERQUOTA"            // quota exceeded
	CodeAlreadyExists        = "ALREADYEXISTS"        // target already exists
	CodeNonExistent          = "NONEXISTENT"          // source does not exist

	// RFC 9051 §7.1.
	CodeAlert          = "ALERT"          // text must be shown to the user
	CodeParse          = "PARSE"          // error parsing a message's headers or MIME
	CodeBadCharset     = "BADCHARSET"     // SEARCH charset unsupported; argument lists supported ones
	CodeCapability     = "CAPABILITY"     // argument is a capability list
	CodeTryCreate      = "TRYCREATE"      // target mailbox missing but could be created
	CodeUIDNext        = "UIDNEXT"        // argument: next UID
	CodeUIDValidity    = "UIDVALIDITY"    // argument: UIDVALIDITY
	CodePermanentFlags = "PERMANENTFLAGS" // argument: flag list
	CodeReadOnly       = "READ-ONLY"      // mailbox selected read-only
	CodeReadWrite      = "READ-WRITE"     // mailbox selected read-write
	CodeHasChildren    = "HASCHILDREN"    // DELETE refused: mailbox has children
	CodeClosed         = "CLOSED"         // previously selected mailbox is now closed (also RFC 7162 §3.2.11)
	CodeUnknownCTE     = "UNKNOWN-CTE"    // RFC 3516 §4.3: unknown content-transfer-encoding

	// RFC 4315 §3 (UIDPLUS).
	CodeAppendUID    = "APPENDUID"    // argument: uidvalidity SP uid-set
	CodeCopyUID      = "COPYUID"      // argument: uidvalidity SP src-uids SP dst-uids
	CodeUIDNotSticky = "UIDNOTSTICKY" // mailbox does not keep UIDs

	// RFC 7162 §3.1 (CONDSTORE).
	CodeHighestModSeq = "HIGHESTMODSEQ" // argument: highest modseq
	CodeNoModSeq      = "NOMODSEQ"      // mailbox does not support modseqs
	CodeModified      = "MODIFIED"      // argument: set that failed UNCHANGEDSINCE

	// RFC 7889 (APPENDLIMIT) and RFC 4469 / RFC 9051 §7.1.
	CodeTooBig = "TOOBIG" // message or argument too large

	// RFC 6154 §6 (CREATE-SPECIAL-USE).
	CodeUseAttr = "USEATTR" // the special-use attribute cannot be created

	// RFC 4978 §3 (COMPRESS).
	CodeCompressionActive = "COMPRESSIONACTIVE" // a compression layer is already active
	// RFC 5465 §5.8, §8 (NOTIFY).
	CodeNotificationOverflow = "NOTIFICATIONOVERFLOW" // notifications turned off, or NOTIFY refused as too costly
	CodeBadEvent             = "BADEVENT"             // argument: (supported events)

	// RFC 8474 §4.1 (OBJECTID).
	CodeMailboxID = "MAILBOXID" // argument: (objectid)

	// RFC 4469 §7 (CATENATE) and RFC 4467 §4 (URLAUTH).
	CodeBadURL  = "BADURL"  // argument: the URL that failed
	CodeURLMech = "URLMECH" // argument: mechanisms of the mailbox
)
