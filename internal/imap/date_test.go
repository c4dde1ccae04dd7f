package imap

import (
	"errors"
	"testing"
	"time"
)

func TestParseDateTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		// RFC 9051 §6.3.12 / §7.5.2 style INTERNALDATE values.
		{"17-Jul-1996 02:44:25 -0700", time.Date(1996, 7, 17, 2, 44, 25, 0, time.FixedZone("", -7*3600))},
		{" 7-Jul-1996 02:44:25 -0700", time.Date(1996, 7, 7, 2, 44, 25, 0, time.FixedZone("", -7*3600))},
		{"07-jul-1996 02:44:25 +0000", time.Date(1996, 7, 7, 2, 44, 25, 0, time.UTC)},
		{"7-JUL-1996 02:44:25 +0530", time.Date(1996, 7, 7, 2, 44, 25, 0, time.FixedZone("", 5*3600+30*60))}, // QUIRK form
		{"29-Feb-2024 23:59:60 +0100", time.Date(2024, 2, 29, 23, 59, 59, 0, time.FixedZone("", 3600))},
	}
	for _, tt := range tests {
		got, err := ParseDateTime(tt.in)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("ParseDateTime(%q) = %v, %v, want %v", tt.in, got, err, tt.want)
			continue
		}
		_, off := got.Zone()
		_, woff := tt.want.Zone()
		if off != woff {
			t.Errorf("ParseDateTime(%q) zone offset %d, want %d", tt.in, off, woff)
		}
	}
}

func TestParseDateTimeInvalid(t *testing.T) {
	for _, in := range []string{
		"", "17-Jul-1996", "17-Jul-1996 02:44:25", "17-Jul-1996 02:44:25 0700",
		"17-Jly-1996 02:44:25 -0700", "32-Jul-1996 02:44:25 -0700", "29-Feb-2023 02:44:25 -0700",
		"00-Jul-1996 02:44:25 -0700", "17-Jul-96 02:44:25 -0700", "17-Jul-1996 24:00:00 -0700",
		"17-Jul-1996 02:60:25 -0700", "17-Jul-1996 02:44:61 -0700", "17-Jul-1996 2:44:25 -0700",
		"17-Jul-1996 02:44:25 -07000", "  7-Jul-1996 02:44:25 -0700", " 17-Jul-1996 02:44:25 -0700",
		"117-Jul-1996 02:44:25 -0700", "17-Jul-1996  02:44:25 -0700", "17-Jul-1996 02:44:25 -2400",
		"17-Jul-1996 02:44:25 -0760",
	} {
		if got, err := ParseDateTime(in); err == nil {
			t.Errorf("ParseDateTime(%q) = %v, want error", in, got)
		} else if !errors.Is(err, ErrBadDate) {
			t.Errorf("ParseDateTime(%q): %v does not wrap ErrBadDate", in, err)
		}
	}
}

func TestFormatDateTimeRoundTrip(t *testing.T) {
	tm := time.Date(2024, 3, 5, 7, 8, 9, 0, time.FixedZone("", -(4*3600+30*60)))
	s := FormatDateTime(tm)
	if s != "05-Mar-2024 07:08:09 -0430" {
		t.Errorf("FormatDateTime = %q", s)
	}
	back, err := ParseDateTime(s)
	if err != nil || !back.Equal(tm) {
		t.Errorf("ParseDateTime(FormatDateTime) = %v, %v", back, err)
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		// RFC 9051 §6.4.4 example: SEARCH FLAGGED SINCE 1-Feb-1994.
		{"1-Feb-1994", time.Date(1994, 2, 1, 0, 0, 0, 0, time.UTC)},
		{"01-feb-1994", time.Date(1994, 2, 1, 0, 0, 0, 0, time.UTC)},
		{"31-Dec-9999", time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, err := ParseDate(tt.in)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("ParseDate(%q) = %v, %v, want %v", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "1-Feb-94", "001-Feb-1994", "1-Feb-1994 ", " 1-Feb-1994", "31-Apr-2020", "1 Feb 1994", "1-Feb-1994x", "\"1-Feb-1994\""} {
		if _, err := ParseDate(in); err == nil {
			t.Errorf("ParseDate(%q) succeeded", in)
		}
	}
}
