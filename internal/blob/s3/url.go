package s3

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// ParseURL reads the blob store URL of [storage] blobs and --blobs:
//
//	s3://BUCKET[/PREFIX]?endpoint=http://HOST:PORT&region=R[&lookup=path|dns][&checksum=md5|crc32c|none][&part_size=BYTES]
//
// Credentials are not taken from the URL (it is logged and shown in
// process lists): they come from Options.AccessKey/SecretKey or the
// environment.
func ParseURL(raw string) (Options, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Options{}, fmt.Errorf("blob/s3: bad URL: %v", redact(err))
	}
	if u.Scheme != "s3" {
		return Options{}, fmt.Errorf("blob/s3: URL scheme must be s3, got %q", u.Scheme)
	}
	if u.User != nil {
		return Options{}, fmt.Errorf("blob/s3: put no credentials in the URL; use s3_access_key/s3_secret_key or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")
	}
	o := Options{Bucket: u.Host, Prefix: strings.TrimPrefix(u.Path, "/")}
	if o.Bucket == "" {
		return Options{}, fmt.Errorf("blob/s3: URL names no bucket (s3://BUCKET?endpoint=...)")
	}
	q := u.Query()
	for k := range q {
		switch k {
		case "endpoint", "region", "lookup", "checksum", "part_size":
		default:
			return Options{}, fmt.Errorf("blob/s3: unknown URL parameter %q (endpoint, region, lookup, checksum, part_size)", k)
		}
	}
	o.Endpoint = q.Get("endpoint")
	o.Region = q.Get("region")
	o.Lookup = q.Get("lookup")
	o.Checksum = Checksum(q.Get("checksum"))
	if ps := q.Get("part_size"); ps != "" {
		n, err := strconv.ParseInt(ps, 10, 64)
		if err != nil || n < MinPartSize {
			return Options{}, fmt.Errorf("blob/s3: part_size must be a number of bytes of at least %d, got %q", MinPartSize, ps)
		}
		o.PartSize = n
	}
	return o, nil
}

// redact drops the URL from a url.Parse error (it may hold a secret).
func redact(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}
