// Package ledger is the idempotency ledger: delivery is at least once, so
// every function records the completion of the work an event asks for, in a
// Firestore transaction, and checks it before starting.
//
// A key (see events.Input.Key: the function plus the object and generation,
// or a digest of the pipeline message) goes through three states:
//
//	absent  -> Claim creates it "working" with a lease, and the work runs
//	working -> a second Claim while the lease holds is ErrBusy (the delivery is
//	           retried later); after the lease expires (the worker died), the
//	           work is claimed again and redone
//	done    -> Claim returns Done: the replay has no effect
//
// Redoing interrupted work is safe because every output has a deterministic
// name and downstream messages are keyed by content, so a repeated publish is
// itself recognized as a duplicate downstream.
package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/megapipe/mega/shared/config"
)

// States of an entry.
const (
	StateWorking = "working"
	StateDone    = "done"
)

// ErrBusy means another delivery of the same work holds an unexpired lease.
var ErrBusy = errors.New("ledger: the same work is in progress elsewhere")

// Entry is one ledger document.
type Entry struct {
	Key      string    `firestore:"key"`
	State    string    `firestore:"state"`
	EventID  string    `firestore:"event_id"`
	Lease    time.Time `firestore:"lease"`
	Outcome  string    `firestore:"outcome,omitempty"`
	Claims   int64     `firestore:"claims"`
	Finished time.Time `firestore:"finished,omitempty"`
}

// Ledger records completed work.
type Ledger struct {
	c     *firestore.Client
	lease time.Duration
	now   func() time.Time
}

// New returns a Ledger; lease bounds how long a claimed key stays busy if its
// worker dies (it should exceed the function's timeout).
func New(c *firestore.Client, lease time.Duration) *Ledger {
	return &Ledger{c: c, lease: lease, now: time.Now}
}

func (l *Ledger) doc(key string) *firestore.DocumentRef {
	return l.c.Collection(config.CollLedger).Doc(key)
}

// Claim checks key and, unless the work is done or busy, claims it. It returns
// done=true when the work was already completed.
func (l *Ledger) Claim(ctx context.Context, key, eventID string) (done bool, err error) {
	err = l.c.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		done = false
		ref := l.doc(key)
		now := l.now()
		snap, err := tx.Get(ref)
		var e Entry
		switch {
		case status.Code(err) == codes.NotFound:
			e = Entry{Key: key}
		case err != nil:
			return fmt.Errorf("ledger: read %s: %w", key, err)
		default:
			if err := snap.DataTo(&e); err != nil {
				return fmt.Errorf("ledger: decode %s: %w", key, err)
			}
		}
		switch {
		case e.State == StateDone:
			done = true
			return nil
		case e.State == StateWorking && now.Before(e.Lease):
			return ErrBusy
		}
		e.State, e.EventID, e.Lease = StateWorking, eventID, now.Add(l.lease)
		e.Claims++
		return tx.Set(ref, e)
	})
	if err != nil && !errors.Is(err, ErrBusy) {
		return false, fmt.Errorf("ledger: claim %s: %w", key, err)
	}
	return done, err
}

// Complete marks key done with an outcome ("succeeded", "failed: reason").
func (l *Ledger) Complete(ctx context.Context, key, eventID, outcome string) error {
	now := l.now()
	err := l.c.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		ref := l.doc(key)
		snap, err := tx.Get(ref)
		var e Entry
		switch {
		case status.Code(err) == codes.NotFound:
			e = Entry{Key: key}
		case err != nil:
			return err
		default:
			if err := snap.DataTo(&e); err != nil {
				return err
			}
		}
		if e.State == StateDone {
			return nil
		}
		e.State, e.EventID, e.Outcome, e.Finished = StateDone, eventID, outcome, now
		return tx.Set(ref, e)
	})
	if err != nil {
		return fmt.Errorf("ledger: complete %s: %w", key, err)
	}
	return nil
}

// Release drops a claim after a transient failure so the retry can claim at
// once.
func (l *Ledger) Release(ctx context.Context, key, eventID string) error {
	err := l.c.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		ref := l.doc(key)
		snap, err := tx.Get(ref)
		if status.Code(err) == codes.NotFound {
			return nil
		}
		if err != nil {
			return err
		}
		var e Entry
		if err := snap.DataTo(&e); err != nil {
			return err
		}
		if e.State != StateWorking || e.EventID != eventID {
			return nil
		}
		e.Lease = time.Time{}
		return tx.Set(ref, e)
	})
	if err != nil {
		return fmt.Errorf("ledger: release %s: %w", key, err)
	}
	return nil
}

// Get returns the entry of key, for tests and diagnostics.
func (l *Ledger) Get(ctx context.Context, key string) (Entry, bool, error) {
	snap, err := l.doc(key).Get(ctx)
	if status.Code(err) == codes.NotFound {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, fmt.Errorf("ledger: get %s: %w", key, err)
	}
	var e Entry
	if err := snap.DataTo(&e); err != nil {
		return Entry{}, false, fmt.Errorf("ledger: decode %s: %w", key, err)
	}
	return e, true, nil
}
