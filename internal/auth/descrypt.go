package auth

import (
	"crypto/subtle"
	"fmt"
)

// Traditional DES crypt(3), the 13-character hashes of old /etc/shadow
// files and of Dovecot's DES-CRYPT scheme (and of its CRYPT scheme on a
// system whose crypt() still takes them). No maintained pure-Go library
// implements it (github.com/GehirnInc/crypt, which barid uses for the
// modular schemes, has no DES; the others wrap the C library, and barid
// builds without cgo), so it is written here from the algorithm:
//
//   - DES itself from FIPS PUB 46-3 (the tables below); the tests check
//     this core against crypto/des;
//   - crypt's use of it from Seventh Edition Unix's crypt(3) and the
//     description in libxcrypt's crypt(5) ("DES"): the low seven bits of
//     each of the first eight password bytes, shifted left once, are the
//     key; the two salt characters give twelve bits, and each set bit i
//     swaps bits i and i+24 of the output of the expansion E in every
//     round; a zero block is encrypted 25 times; the 64 bits are written
//     as eleven characters of ./0-9A-Za-z, six bits each from the most
//     significant end, the last one padded with two zero bits.
//
// The tests check hashes made by the system's crypt() (libxcrypt, via
// Python's crypt module) and by `doveadm pw -s DES-CRYPT`. BSDi's
// extended "_" format, bigcrypt and crypt16 are not read.
//
// DES crypt reads only the first eight characters of a password and has a
// 56-bit key: it is there to let users of old files log in (and be
// re-hashed where the source is writable), never to store anything.

// cryptAlphabet is crypt(3)'s base-64 alphabet.
const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// cryptIndex returns the value of one crypt(3) base-64 character.
func cryptIndex(c byte) (uint32, bool) {
	switch {
	case c == '.' || c == '/':
		return uint32(c - '.'), true
	case c >= '0' && c <= '9':
		return uint32(c-'0') + 2, true
	case c >= 'A' && c <= 'Z':
		return uint32(c-'A') + 12, true
	case c >= 'a' && c <= 'z':
		return uint32(c-'a') + 38, true
	}
	return 0, false
}

// isDESCrypt reports whether data looks like a traditional DES crypt
// hash: 13 characters of the crypt alphabet. (The last character holds
// four bits of the hash and two zero bits, so only 16 of its 64 values
// occur; a value outside them simply never matches.)
func isDESCrypt(data string) bool {
	if len(data) != 13 {
		return false
	}
	for i := 0; i < len(data); i++ {
		if _, ok := cryptIndex(data[i]); !ok {
			return false
		}
	}
	return true
}

// verifyDESCrypt checks password against a 13-character DES crypt hash.
func verifyDESCrypt(data, password string) (bool, error) {
	if !isDESCrypt(data) {
		return false, fmt.Errorf("%w: DES crypt hash must be 13 characters of ./0-9A-Za-z", ErrBadSecret)
	}
	got := desCrypt(password, data[:2])
	return subtle.ConstantTimeCompare([]byte(got), []byte(data)) == 1, nil
}

// desCrypt computes crypt(3) of password with a two-character salt of
// the crypt alphabet (the caller checks it).
func desCrypt(password, salt string) string {
	var key uint64
	for i := 0; i < 8; i++ {
		key <<= 8
		if i < len(password) {
			key |= uint64(password[i]<<1) & 0xff
		}
	}
	s0, _ := cryptIndex(salt[0])
	s1, _ := cryptIndex(salt[1])
	saltBits := s0 | s1<<6

	// The salt swaps E-output bits i and i+24 (0-based from the most
	// significant end) for each set bit i of the 12-bit salt.
	var e [48]byte
	copy(e[:], desE[:])
	for i := 0; i < 12; i++ {
		if saltBits>>i&1 == 1 {
			e[i], e[i+24] = e[i+24], e[i]
		}
	}
	d := desCipher{e: &e}
	d.schedule(key)
	var block uint64
	for range 25 {
		block = d.encrypt(block)
	}
	out := make([]byte, 0, 13)
	out = append(out, salt[0], salt[1])
	for i := 0; i < 11; i++ {
		// Bits 63-6i down to 58-6i; the eleventh group runs two bits
		// past the end, which read as zero.
		shift := 58 - 6*i
		var v uint64
		if shift >= 0 {
			v = block >> uint(shift) & 0x3f
		} else {
			v = block << uint(-shift) & 0x3f
		}
		out = append(out, cryptAlphabet[v])
	}
	return string(out)
}

// desCipher is DES (FIPS 46-3) with a replaceable expansion table.
type desCipher struct {
	e    *[48]byte
	keys [16]uint64 // 48-bit round keys
}

// permute picks bits of in (inBits wide) in the order of table, whose
// entries are 1-based positions counted from the most significant bit
// (FIPS 46-3's convention).
func permute(in uint64, inBits int, table []byte) uint64 {
	var out uint64
	for _, p := range table {
		out = out<<1 | in>>uint(inBits-int(p))&1
	}
	return out
}

func (d *desCipher) schedule(key uint64) {
	cd := permute(key, 64, desPC1[:]) // 56 bits: C (high 28) and D (low 28)
	c, dd := uint32(cd>>28)&0x0fffffff, uint32(cd)&0x0fffffff
	rot := func(x uint32, n int) uint32 { return (x<<uint(n) | x>>uint(28-n)) & 0x0fffffff }
	for i, n := range desShifts {
		c, dd = rot(c, n), rot(dd, n)
		d.keys[i] = permute(uint64(c)<<28|uint64(dd), 56, desPC2[:])
	}
}

func (d *desCipher) feistel(r uint32, k uint64) uint32 {
	x := permute(uint64(r), 32, d.e[:]) ^ k
	var s uint32
	for i := 0; i < 8; i++ {
		six := x >> uint(42-6*i) & 0x3f
		row := six>>4&2 | six&1
		col := six >> 1 & 0xf
		s = s<<4 | uint32(desS[i][row*16+col])
	}
	return uint32(permute(uint64(s), 32, desP[:]))
}

func (d *desCipher) encrypt(block uint64) uint64 {
	b := permute(block, 64, desIP[:])
	l, r := uint32(b>>32), uint32(b)
	for i := 0; i < 16; i++ {
		l, r = r, l^d.feistel(r, d.keys[i])
	}
	// The output of the last round is R16 L16 (no final swap).
	return permute(uint64(r)<<32|uint64(l), 64, desFP[:])
}

// FIPS 46-3 tables.
var (
	desIP = [64]byte{
		58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4,
		62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24, 16, 8,
		57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3,
		61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
	}
	desFP = [64]byte{
		40, 8, 48, 16, 56, 24, 64, 32, 39, 7, 47, 15, 55, 23, 63, 31,
		38, 6, 46, 14, 54, 22, 62, 30, 37, 5, 45, 13, 53, 21, 61, 29,
		36, 4, 44, 12, 52, 20, 60, 28, 35, 3, 43, 11, 51, 19, 59, 27,
		34, 2, 42, 10, 50, 18, 58, 26, 33, 1, 41, 9, 49, 17, 57, 25,
	}
	desE = [48]byte{
		32, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9,
		8, 9, 10, 11, 12, 13, 12, 13, 14, 15, 16, 17,
		16, 17, 18, 19, 20, 21, 20, 21, 22, 23, 24, 25,
		24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32, 1,
	}
	desP = [32]byte{
		16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10,
		2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25,
	}
	desPC1 = [56]byte{
		57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18,
		10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36,
		63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22,
		14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4,
	}
	desPC2 = [48]byte{
		14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10,
		23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2,
		41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48,
		44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
	}
	desShifts = [16]int{1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1}
	desS      = [8][64]byte{
		{14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7,
			0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8,
			4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0,
			15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13},
		{15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10,
			3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5,
			0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15,
			13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9},
		{10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8,
			13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1,
			13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7,
			1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12},
		{7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15,
			13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9,
			10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4,
			3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14},
		{2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9,
			14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6,
			4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14,
			11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3},
		{12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11,
			10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8,
			9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6,
			4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13},
		{4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1,
			13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6,
			1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2,
			6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12},
		{13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7,
			1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2,
			7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8,
			2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11},
	}
)
