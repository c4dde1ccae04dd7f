package sqlite

import (
	"context"
	"time"

	"barid/internal/store"
)

// AppPasswordHashes lists an account's app passwords with their hashes
// (store.AppPasswordHasher, for barid store copy).
func (s *Store) AppPasswordHashes(ctx context.Context, accountID int64) ([]store.AppPasswordHash, error) {
	var out []store.AppPasswordHash
	err := s.read(ctx, func(r *reader) error {
		out = out[:0]
		rows, err := r.query(`SELECT label, protocols, created, hash FROM app_passwords WHERE account = ? ORDER BY label`, accountID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			p := store.AppPasswordHash{AppPassword: store.AppPassword{AccountID: accountID}}
			var protos string
			var created int64
			if err := rows.Scan(&p.Label, &protos, &created, &p.Hash); err != nil {
				return err
			}
			p.Protocols, p.Created = splitProtocols(protos), time.UnixMicro(created)
			out = append(out, p)
		}
		return rows.Err()
	})
	return out, err
}
