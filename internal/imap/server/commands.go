package server

// cmdFlags describe how a command interacts with the selected view.
type cmdFlags uint8

const (
	// usesSeq: the command refers to messages by sequence number, so no
	// EXPUNGE may be sent while answering it (RFC 9051 §7.5.1,
	// RFC 3501 §7.4.1).
	usesSeq cmdFlags = 1 << iota
	// noUpdates: the command sends no pending updates at all (LOGOUT,
	// the commands that leave the selected state).
	noUpdates
	// noNotify: NOTIFY's unsolicited LIST and STATUS responses for
	// other mailboxes wait for the next command, so they do not mix
	// with the command's own LIST or STATUS answers (RFC 5465 §5.4).
	noNotify
)

// command is one entry of the command table (docs/style.md §2). UID variants
// are their own entries.
type command struct {
	states State
	flags  cmdFlags
	handle func(c *Conn, tag string) error
}

const (
	anyState = StateNotAuthenticated | StateAuthenticated | StateSelected
	authed   = StateAuthenticated | StateSelected
	selected = StateSelected
	notAuth  = StateNotAuthenticated
)

var commands map[string]*command

func init() {
	commands = map[string]*command{
		// Any state (RFC 9051 §6.1).
		"CAPABILITY": {states: anyState, handle: handleCapability},
		"NOOP":       {states: anyState, handle: handleNoop},
		"LOGOUT":     {states: anyState, flags: noUpdates, handle: handleLogout},
		"ID":         {states: anyState, handle: handleID},
		// Not authenticated (RFC 9051 §6.2).
		"STARTTLS":     {states: notAuth, flags: noUpdates, handle: handleStartTLS},
		"AUTHENTICATE": {states: notAuth, handle: handleAuthenticate},
		"LOGIN":        {states: notAuth, handle: handleLogin},
		// Authenticated (RFC 9051 §6.3).
		"ENABLE":         {states: authed, handle: handleEnable},
		"SELECT":         {states: authed, flags: noUpdates, handle: handleSelect},
		"EXAMINE":        {states: authed, flags: noUpdates, handle: handleExamine},
		"CREATE":         {states: authed, handle: handleCreate},
		"DELETE":         {states: authed, handle: handleDelete},
		"RENAME":         {states: authed, handle: handleRename},
		"SUBSCRIBE":      {states: authed, handle: handleSubscribe},
		"UNSUBSCRIBE":    {states: authed, handle: handleUnsubscribe},
		"LIST":           {states: authed, flags: noNotify, handle: handleList},
		"LSUB":           {states: authed, flags: noNotify, handle: handleLsub},
		"NAMESPACE":      {states: authed, handle: handleNamespace},
		"STATUS":         {states: authed, flags: noNotify, handle: handleStatus},
		"APPEND":         {states: authed, handle: handleAppend},
		"IDLE":           {states: authed, handle: handleIdle},
		"NOTIFY":         {states: authed, handle: handleNotify}, // RFC 5465
		"GENURLAUTH":     {states: authed, handle: handleGenURLAuth},
		"RESETKEY":       {states: authed, handle: handleResetKey},
		"URLFETCH":       {states: authed, handle: handleURLFetch},
		"COMPRESS":       {states: authed, handle: handleCompress},                         // RFC 4978
		"UNAUTHENTICATE": {states: authed, flags: noUpdates, handle: handleUnauthenticate}, // RFC 8437
		"ESEARCH":        {states: authed, handle: handleESearch},                          // RFC 7377
		// RFC 9208 QUOTA (quota.go)
		"GETQUOTA":     {states: authed, handle: handleGetQuota},
		"GETQUOTAROOT": {states: authed, handle: handleGetQuotaRoot},
		"SETQUOTA":     {states: authed, handle: handleSetQuota},
		// RFC 5464 METADATA (metadata.go)
		"GETMETADATA": {states: authed, handle: handleGetMetadata},
		"SETMETADATA": {states: authed, handle: handleSetMetadata},
		"SETACL":      {states: authed, handle: handleSetACL},     // RFC 4314 §3.1
		"DELETEACL":   {states: authed, handle: handleDeleteACL},  // RFC 4314 §3.2
		"GETACL":      {states: authed, handle: handleGetACL},     // RFC 4314 §3.3
		"LISTRIGHTS":  {states: authed, handle: handleListRights}, // RFC 4314 §3.4
		"MYRIGHTS":    {states: authed, handle: handleMyRights},   // RFC 4314 §3.5
		// Selected (RFC 9051 §6.4).
		"CHECK":       {states: selected, handle: handleCheck},
		"CLOSE":       {states: selected, flags: noUpdates, handle: handleClose},
		"UNSELECT":    {states: selected, flags: noUpdates, handle: handleUnselect},
		"EXPUNGE":     {states: selected, handle: handleExpunge},
		"UID EXPUNGE": {states: selected, handle: handleUIDExpunge},
		"SEARCH":      {states: selected, flags: usesSeq, handle: handleSearch},
		"UID SEARCH":  {states: selected, handle: handleUIDSearch},
		"SORT":        {states: selected, flags: usesSeq, handle: handleSort},
		"UID SORT":    {states: selected, handle: handleUIDSort},
		"FETCH":       {states: selected, flags: usesSeq, handle: handleFetch},
		"UID FETCH":   {states: selected, handle: handleUIDFetch},
		"STORE":       {states: selected, flags: usesSeq, handle: handleStore},
		"UID STORE":   {states: selected, handle: handleUIDStore},
		"COPY":        {states: selected, flags: usesSeq, handle: handleCopy},
		"UID COPY":    {states: selected, handle: handleUIDCopy},
		"MOVE":        {states: selected, flags: usesSeq, handle: handleMove},
		"UID MOVE":    {states: selected, handle: handleUIDMove},
		"REPLACE":     {states: selected, flags: usesSeq, handle: handleReplace}, // RFC 8508
		"UID REPLACE": {states: selected, handle: handleUIDReplace},
		"THREAD":      {states: selected, flags: usesSeq, handle: handleThread},
		"UID THREAD":  {states: selected, handle: handleUIDThread},
		// RFC 5267 §4.2
		"CANCELUPDATE": {states: selected, handle: handleCancelUpdate},
	}
}
