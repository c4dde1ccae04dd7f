# barid in a container (docs/operations.md, "Docker").
#
#   docker build -t barid .
#   docker volume create barid-data
#   printf 'a-long-password\n' | docker run --rm -i -v barid-data:/var/lib/barid barid user add --data /var/lib/barid alice@example.org
#   docker run -d --name barid -v barid-data:/var/lib/barid -p 143:143 -p 993:993 barid
#
# With a config file (set data_dir = "/var/lib/barid" in it):
#   docker run -d -v barid-data:/var/lib/barid -v ./barid.toml:/etc/barid/barid.toml:ro \
#       -p 143:143 -p 993:993 -p 127.0.0.1:24:24 barid serve --config /etc/barid/barid.toml
# Reload (certificate files, log_level): docker kill --signal HUP barid
# Admin CLI against the running server (control socket in the volume):
#   docker exec barid /barid who --data /var/lib/barid

# Build: a static binary (the SQLite driver is pure Go; no cgo).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
# go.mod replaces github.com/emersion/go-smtp with this local copy: it
# must be there before the download (scripts/ci-docker found that).
COPY third_party/go-smtp third_party/go-smtp
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/barid ./cmd/barid \
    && mkdir -p /out/data

# Run: distroless "static" (CA certificates for ACME and S3, /etc/passwd
# with the nonroot user, nothing else: no shell, no package manager).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/barid /barid
# The data folder belongs to nonroot (65532), 0700 as barid wants it.
COPY --from=build --chown=65532:65532 --chmod=0700 /out/data /var/lib/barid
USER 65532:65532
VOLUME ["/var/lib/barid"]
# IMAP (STARTTLS), IMAPS, POP3, POP3S, LMTP, submission, submissions.
# Only 143 and 993 listen unless configured. Docker lets an unprivileged
# process bind ports below 1024 inside the container
# (net.ipv4.ip_unprivileged_port_start=0 since Docker 20.10); on older
# engines map to high ports with --imap :1143 --imaps :1993.
EXPOSE 143 993 110 995 24 587 465
ENTRYPOINT ["/barid"]
CMD ["serve", "--data", "/var/lib/barid"]
