package app

import (
	"errors"

	"barid/internal/config"
	"barid/internal/filter"
	"barid/internal/sieve"
	"barid/internal/store"
)

// sieveOptions maps [sieve] onto the interpreter's limits.
func sieveOptions(cfg *config.Config) sieve.Options {
	s := &cfg.Sieve
	return sieve.Options{
		MaxScriptSize:   s.MaxScriptSize,
		MaxActions:      s.MaxActions,
		MaxRedirects:    s.MaxRedirects,
		MaxIncludeDepth: s.MaxIncludeDepth,
		CPUTime:         s.CPUTime.Duration,
	}
}

// ErrNoSieve: the metadata store has no Sieve tables.
var ErrNoSieve = errors.New("this metadata store does not keep Sieve scripts")

// SieveScripts is the script service over st with the [sieve] limits:
// what ManageSieve and "barid sieve" both use.
func SieveScripts(cfg *config.Config, st store.Store) (*filter.Scripts, error) {
	ss, ok := st.(store.SieveScripts)
	if !ok {
		return nil, ErrNoSieve
	}
	return &filter.Scripts{Store: ss, Options: sieveOptions(cfg), MaxScripts: cfg.Sieve.MaxScripts,
		MaxNameLength: cfg.Sieve.MaxNameLength}, nil
}
