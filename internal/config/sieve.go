package config

import (
	"net"
	"time"
)

// Sieve is the mail filtering section (docs/sieve.md): every limit a
// user's script meets, and the smarthost its outgoing mail goes to.
type Sieve struct {
	// MaxScriptSize is the largest script in bytes (ManageSieve PUTSCRIPT
	// and HAVESPACE, the CLI). Default 1 MiB, as Pigeonhole's
	// sieve_max_script_size.
	MaxScriptSize int `toml:"max_script_size"`
	// MaxScripts is how many scripts one account may keep (0 =
	// unlimited; default 100).
	MaxScripts int `toml:"max_scripts"`
	// MaxActions bounds the actions one run may perform (default 32, as
	// Pigeonhole's sieve_max_actions).
	MaxActions int `toml:"max_actions"`
	// MaxRedirects bounds redirect actions per run (default 4, as
	// Pigeonhole's sieve_max_redirects).
	MaxRedirects int `toml:"max_redirects"`
	// MaxNotifications bounds the recipients of the notify actions
	// (RFC 5435 enotify) of one run (default 8; RFC 5435 §8 asks for
	// such a limit). Past it the run fails and the message is kept.
	MaxNotifications int `toml:"max_notifications"`
	// MaxNameLength bounds a script name in bytes (default 255).
	MaxNameLength int `toml:"max_name_length"`
	// MaxIncludeDepth bounds nested includes (RFC 6609; default 10).
	MaxIncludeDepth int `toml:"max_include_depth"`
	// CPUTime bounds one script run (default "30s", as Pigeonhole); past it the run
	// fails and the message is kept in INBOX.
	CPUTime Duration `toml:"cpu_time"`
	// VacationMinPeriod is the shortest :days/:seconds a vacation
	// action may ask for (RFC 6131 §2); default one day, as
	// Pigeonhole's sieve_vacation_min_period. "0s" allows any.
	VacationMinPeriod Duration `toml:"vacation_min_period"`
	// VacationMaxPeriod is the longest (default 90 days).
	VacationMaxPeriod Duration `toml:"vacation_max_period"`
	// SpamHeader and VirusHeader name the headers spamtest and
	// virustest read (RFC 5235 §3; default "X-Spam-Score" and
	// "X-Virus-Score"), holding a number from 0 to SpamMax (default 10)
	// and VirusMax (default 5).
	SpamHeader  string  `toml:"spam_header"`
	SpamMax     float64 `toml:"spam_max"`
	VirusHeader string  `toml:"virus_header"`
	VirusMax    float64 `toml:"virus_max"`
	// SMTP is the smarthost ("HOST:PORT") for redirect, vacation and
	// reject. Empty: those messages wait in the spool, and the log says
	// so.
	SMTP string `toml:"smtp"`
	// RetryInterval is the first pause after a failed send; it doubles
	// per attempt up to one hour (default "1m").
	RetryInterval Duration `toml:"retry_interval"`
	// MaxAttempts is how many sends are tried before a message is given
	// up and logged (default 20).
	MaxAttempts int `toml:"max_attempts"`
}

// ManageSieve is the RFC 5804 listener section.
type ManageSieve struct {
	// Listen is the address (STARTTLS; the IANA port is 4190), e.g.
	// ":4190". Empty disables (the default).
	Listen string `toml:"listen"`
}

func defaultSieve() Sieve {
	return Sieve{
		MaxScriptSize:     1 << 20,
		MaxScripts:        100,
		MaxActions:        32,
		MaxRedirects:      4,
		MaxNotifications:  8,
		MaxIncludeDepth:   10,
		MaxNameLength:     255,
		SpamHeader:        "X-Spam-Score",
		SpamMax:           10,
		VirusHeader:       "X-Virus-Score",
		VirusMax:          5,
		CPUTime:           Duration{30 * time.Second},
		VacationMinPeriod: Duration{24 * time.Hour},
		VacationMaxPeriod: Duration{90 * 24 * time.Hour},
		RetryInterval:     Duration{time.Minute},
		MaxAttempts:       20,
	}
}

func (c *Config) validateSieve(add func(string, ...any)) {
	s := &c.Sieve
	if s.MaxNameLength < 1 {
		add("sieve.max_name_length must be at least 1")
	}
	if s.MaxScriptSize < 1 {
		add("sieve.max_script_size must be at least 1")
	}
	if s.MaxNotifications < 1 {
		add("sieve.max_notifications must be at least 1")
	}
	if s.MaxScripts < 0 || s.MaxActions < 1 || s.MaxRedirects < 0 || s.MaxIncludeDepth < 0 {
		add("sieve.max_scripts, max_redirects and max_include_depth must be >= 0 and sieve.max_actions >= 1")
	}
	if s.CPUTime.Duration <= 0 {
		add("sieve.cpu_time must be positive")
	}
	if s.VacationMinPeriod.Duration < 0 || s.VacationMaxPeriod.Duration < s.VacationMinPeriod.Duration {
		add("sieve.vacation_min_period must be >= 0 and <= sieve.vacation_max_period")
	}
	if s.SMTP != "" {
		if _, _, err := net.SplitHostPort(s.SMTP); err != nil {
			add("sieve.smtp must be HOST:PORT: %v", err)
		}
	}
	if s.SpamMax <= 0 || s.VirusMax <= 0 {
		add("sieve.spam_max and sieve.virus_max must be positive")
	}
	if s.RetryInterval.Duration <= 0 || s.MaxAttempts < 1 {
		add("sieve.retry_interval must be positive and sieve.max_attempts at least 1")
	}
}
