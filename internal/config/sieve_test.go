package config

import (
	"strings"
	"testing"
)

// Each [sieve] limit that is out of range is refused with its key named.
func TestSieveValidateNamesTheKey(t *testing.T) {
	for key, mod := range map[string]func(*Config){
		"sieve.max_script_size":     func(c *Config) { c.Sieve.MaxScriptSize = 0 },
		"sieve.max_name_length":     func(c *Config) { c.Sieve.MaxNameLength = 0 },
		"sieve.max_actions":         func(c *Config) { c.Sieve.MaxActions = 0 },
		"sieve.cpu_time":            func(c *Config) { c.Sieve.CPUTime.Duration = 0 },
		"sieve.vacation_min_period": func(c *Config) { c.Sieve.VacationMinPeriod.Duration = -1 },
		"sieve.smtp":                func(c *Config) { c.Sieve.SMTP = "no-port" },
		"sieve.max_attempts":        func(c *Config) { c.Sieve.MaxAttempts = 0 },
	} {
		c := Default()
		mod(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: %v", key, err)
		}
	}
	c := Default()
	c.Sieve.VacationMinPeriod.Duration = 0 // "0s" is allowed
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}
