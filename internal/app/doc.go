// Package app wires barid together: it is the only package that names the
// concrete backends (store/sqlite, blob/fs). It opens the data folder,
// provisions accounts, runs the integrity sweep, builds the TLS
// configuration, binds listeners, drops privileges and runs the servers
// until the context ends.
package app
