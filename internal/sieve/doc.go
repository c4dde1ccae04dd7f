// Package sieve is a parser and interpreter for the Sieve mail filtering
// language (RFC 5228) and its extensions.
//
// Compile checks a script completely before it runs (RFC 5228 §2.10.5),
// including scripts it includes (RFC 6609), and reports every error with
// its line. Script.Execute runs a compiled script against one message and
// one recipient and returns the actions; it never touches storage or the
// network: the caller files, flags, redirects, rejects and answers. A
// runtime error returns a Result with only the implicit keep and a
// *RuntimeError with the line (RFC 5228 §2.10.6).
//
// Limits (Options) each have a default and a named error: script size,
// actions, redirects, include depth, nesting depth and CPU time.
//
// Where the RFCs leave room the behaviour follows Dovecot Pigeonhole;
// docs/sieve.md lists the extensions and the differences.
//
// The API is the one agreed for the delivery integration; since its first
// commit only fields and helpers were added: Options.MaxNestingDepth,
// MaxVariableSize, SpamHeader, VirusHeader, SpamMax; Env.Duplicate (it
// answers, and must not record: Result.Duplicates lists what to record
// after a successful delivery; its first doc comment said it recorded);
// Result.EditedHeader and Result.Duplicates; NewMessage, ShouldAutoReplyFor,
// Script.Name, Script.Extensions, DuplicateMark and the default constants.
//
// This package imports only barid's mail parsing packages.
package sieve
