package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"syscall"

	"barid/internal/config"
)

// watchReload re-reads the configuration on SIGHUP (the certificate is
// reloaded by the app on the same signal): log_level applies at once;
// any other setting that changed is logged as needing a restart, by
// section, so "systemctl reload barid" says what it did and did not do.
// The returned function stops watching.
func watchReload(ctx context.Context, running config.Config, reload func() (config.Config, error), level *slog.LevelVar, log *slog.Logger) func() {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-hup:
				if !ok {
					return
				}
				next, err := reload()
				if err != nil {
					log.Error("config reload failed; keeping the running configuration", "err", err)
					continue
				}
				if next.LogLevel != running.LogLevel {
					level.Set(parseLevel(next.LogLevel))
					log.Info("config reloaded", "log_level", next.LogLevel)
					running.LogLevel = next.LogLevel
				}
				if changed := changedSections(running, next); len(changed) > 0 {
					log.Warn("config changes that need a restart", "sections", changed)
				}
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(hup)
		<-done
	}
}

// changedSections names the config sections (TOML keys) that differ,
// log_level aside.
func changedSections(a, b config.Config) []string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	t := va.Type()
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Name == "LogLevel" {
			continue
		}
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			name := f.Tag.Get("toml")
			if name == "" {
				name = f.Name
			}
			out = append(out, name)
		}
	}
	return out
}
