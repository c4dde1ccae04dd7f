// Package quickack keeps a client that does not set TCP_NODELAY from
// waiting on the server's delayed ACK.
//
// A client with Nagle's algorithm on (Python's imaplib, most C clients,
// anything that never calls setsockopt TCP_NODELAY) holds a small write
// while an earlier small segment is unacknowledged. imaplib sends an
// APPEND literal and its closing CRLF in two writes; a SASL response and
// its CRLF likewise. The literal goes out at once, the CRLF waits for
// its ACK, and Linux, which has seen the server answer every command
// quickly ("pingpong" or interactive mode), delays that ACK in the hope
// of piggybacking it on a reply that cannot come before the CRLF. Both
// sides wait for the delayed-ACK timer: 40 ms per APPEND.
//
// TCP_QUICKACK (tcp(7), Linux only, not sticky) leaves pingpong mode and
// sends a pending ACK at once. Conn sets it where the server knows, or
// can tell from the bytes, that the client has more of the same command
// to send:
//
//   - after a read that drained the socket mid-line (the last byte read
//     is not LF): the rest of the line may be held by the client's Nagle;
//   - after the server sends a continuation request ("+ " for an IMAP
//     literal or a SASL challenge, POP3 SASL "+ ") or reads a LITERAL+
//     header: Conn.Arm acknowledges at once and after every read until
//     the next command (Conn.Disarm), so the literal or response that
//     follows is acknowledged as soon as it is read, whatever its last
//     byte;
//   - in Always mode after every read (LMTP DATA, where a client's write
//     boundaries say nothing about where the message ends).
//
// Dovecot 2.3 gets the same effect by setting TCP_QUICKACK before every
// read of a client socket (seen with strace). Reads that end a complete
// line do nothing here, so a client that writes whole commands costs no
// extra system call and its ACK still rides on the reply.
//
// On other systems Ack is a no-op.
package quickack
