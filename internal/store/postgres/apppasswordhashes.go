package postgres

import (
	"context"
	"time"

	"barid/internal/store"
)

// AppPasswordHashes lists an account's app passwords with their hashes
// (store.AppPasswordHasher, for barid store copy).
func (s *Store) AppPasswordHashes(ctx context.Context, accountID int64) ([]store.AppPasswordHash, error) {
	rows, err := s.query(ctx, `SELECT label, protocols, created, hash FROM app_passwords WHERE account = $1 ORDER BY label COLLATE "C"`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.AppPasswordHash
	for rows.Next() {
		p := store.AppPasswordHash{AppPassword: store.AppPassword{AccountID: accountID}}
		var protos string
		var created time.Time
		if err := rows.Scan(&p.Label, &protos, &created, &p.Hash); err != nil {
			return nil, err
		}
		p.Protocols, p.Created = splitProtocols(protos), created
		out = append(out, p)
	}
	return out, rows.Err()
}
