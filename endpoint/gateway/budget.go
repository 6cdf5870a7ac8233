package gateway

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Budgets enforce spending limits per user, department and model, in
// tokens and USD, persisted in bbolt so a restart keeps what was spent.
//
// A call reserves its worst case (estimated from the request) before it is
// forwarded; the reservation is written as spent at once, inside one bbolt
// write transaction that first checks every applicable limit. bbolt
// serialises write transactions, so concurrent calls can never together
// pass a limit, and a crash mid-call leaves the reservation charged (fail
// closed). Settle replaces the reservation with the provider's reported
// usage when the call ends.
type Budgets struct {
	db     *bolt.DB
	limits []BudgetLimit
	key    []byte // HMAC key for user/department values in store keys
}

var (
	bucketSpent = []byte("spent")
	bucketMeta  = []byte("meta")
	metaKey     = []byte("pseudonym_key")
)

// pseud is the keyed pseudonym a value is filed under: raw user ids never
// reach the store file. The key is random per store and kept in it, so
// amounts survive restarts; the file alone does not reveal who spent what
// without guessing and keying every candidate name.
func (b *Budgets) pseud(v string) string {
	m := hmac.New(sha256.New, b.key)
	m.Write([]byte(v))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// BudgetKeys are the values a call is budgeted under.
type BudgetKeys struct{ User, Department, Model string }

// Reservation is what Reserve charged for one call.
type Reservation struct {
	Tokens int64
	USD    float64
	keys   [][]byte
}

// BudgetError is an over-budget refusal.
type BudgetError struct{ msg string }

func (e *BudgetError) Error() string { return e.msg }

// OpenBudgets opens (creating) the store at path.
func OpenBudgets(path string, limits []BudgetLimit) (*Budgets, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("gateway budgets: open %s: %w", path, err)
	}
	b := &Budgets{db: db, limits: limits}
	if err := db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(bucketSpent); err != nil {
			return err
		}
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if k := meta.Get(metaKey); len(k) == 32 {
			b.key = append([]byte(nil), k...)
			return nil
		}
		b.key = make([]byte, 32)
		if _, err := rand.Read(b.key); err != nil {
			return err
		}
		return meta.Put(metaKey, b.key)
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("gateway budgets: %w", err)
	}
	return b, nil
}

// Close closes the store.
func (b *Budgets) Close() error { return b.db.Close() }

func periodKey(period string, now time.Time) string {
	now = now.UTC()
	switch period {
	case "day":
		return now.Format(time.DateOnly)
	case "month":
		return now.Format("2006-01")
	}
	return "total"
}

type applicable struct {
	l   BudgetLimit
	key []byte
	val string
}

func (b *Budgets) applicable(k BudgetKeys, now time.Time) []applicable {
	var out []applicable
	for _, l := range b.limits {
		var v string
		switch l.Scope {
		case "user":
			v = k.User
		case "department":
			v = k.Department
		case "model":
			v = k.Model
		}
		if l.Match != "*" && l.Match != v {
			continue
		}
		key := b.key4(l.Scope, v, l.Period, now)
		out = append(out, applicable{l: l, key: key, val: v})
	}
	return out
}

func (b *Budgets) key4(scope, value, period string, now time.Time) []byte {
	if scope != "model" {
		value = b.pseud(value)
	}
	return []byte(scope + "\x00" + value + "\x00" + period + "\x00" + periodKey(period, now))
}

// USD is stored as integer nano-dollars so sums are exact.
func nanoUSD(usd float64) int64 { return int64(math.Round(usd * 1e9)) }

func decode(v []byte) (tokens, nusd int64) {
	if len(v) != 16 {
		return 0, 0
	}
	return int64(binary.BigEndian.Uint64(v)), int64(binary.BigEndian.Uint64(v[8:]))
}

func encode(tokens, nusd int64) []byte {
	v := make([]byte, 16)
	binary.BigEndian.PutUint64(v, uint64(max(tokens, 0)))
	binary.BigEndian.PutUint64(v[8:], uint64(max(nusd, 0)))
	return v
}

// Reserve charges tokens and usd against every applicable limit, or
// refuses without charging anything when one of them would be exceeded.
// usd < 0 means the call cannot be priced: a USD limit then refuses it.
func (b *Budgets) Reserve(k BudgetKeys, tokens int64, usd float64, now time.Time) (*Reservation, error) {
	apps := b.applicable(k, now)
	r := &Reservation{Tokens: tokens, USD: max(usd, 0)}
	if len(apps) == 0 {
		return r, nil
	}
	err := b.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketSpent)
		for _, a := range apps {
			st, su := decode(bk.Get(a.key))
			if a.l.Tokens > 0 && st+tokens > a.l.Tokens {
				return &BudgetError{fmt.Sprintf("the %s budget for %s %q is used up: %d of %d tokens spent this %s, this call may need up to %d more",
					a.l.Period, a.l.Scope, a.val, st, a.l.Tokens, periodWord(a.l.Period), tokens)}
			}
			if a.l.USD > 0 {
				if usd < 0 {
					return &BudgetError{fmt.Sprintf("model %q has no price, so the USD budget for %s %q cannot be enforced", k.Model, a.l.Scope, a.val)}
				}
				if su+nanoUSD(usd) > nanoUSD(a.l.USD) {
					return &BudgetError{fmt.Sprintf("the %s budget for %s %q is used up: $%.4f of $%.2f spent this %s, this call may cost up to $%.4f",
						a.l.Period, a.l.Scope, a.val, float64(su)/1e9, a.l.USD, periodWord(a.l.Period), usd)}
				}
			}
		}
		for _, a := range apps {
			st, su := decode(bk.Get(a.key))
			if err := bk.Put(a.key, encode(st+tokens, su+nanoUSD(r.USD))); err != nil {
				return err
			}
			r.keys = append(r.keys, a.key)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

func periodWord(p string) string {
	if p == "total" {
		return "budget"
	}
	return p
}

// Settle replaces a reservation with the actual usage.
func (b *Budgets) Settle(r *Reservation, tokens int64, usd float64) error {
	if r == nil || len(r.keys) == 0 {
		return nil
	}
	dt, du := tokens-r.Tokens, nanoUSD(usd)-nanoUSD(r.USD)
	if dt == 0 && du == 0 {
		return nil
	}
	return b.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketSpent)
		for _, k := range r.keys {
			st, su := decode(bk.Get(k))
			if err := bk.Put(k, encode(st+dt, su+du)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Spent reports what was spent under one limit key.
func (b *Budgets) Spent(scope, value, period string, now time.Time) (tokens int64, usd float64, err error) {
	key := b.key4(scope, value, period, now)
	err = b.db.View(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketSpent)
		if bk == nil {
			return errors.New("gateway budgets: store not initialised")
		}
		t, u := decode(bk.Get(key))
		tokens, usd = t, float64(u)/1e9
		return nil
	})
	return
}
