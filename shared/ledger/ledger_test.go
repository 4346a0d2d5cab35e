package ledger_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/megapipe/mega/emulators/emulatortest"
	"github.com/megapipe/mega/shared/ledger"
)

func TestMain(m *testing.M) { emulatortest.Main(m) }

func TestClaimCompleteRelease(t *testing.T) {
	env := emulatortest.Start(t)
	ctx := context.Background()
	l := ledger.New(env.Firestore(), time.Minute)

	done, err := l.Claim(ctx, "k1", "e1")
	if err != nil || done {
		t.Fatalf("first claim = %v, %v; want false, nil", done, err)
	}
	if _, err := l.Claim(ctx, "k1", "e2"); !errors.Is(err, ledger.ErrBusy) {
		t.Fatalf("claim while working = %v, want ErrBusy", err)
	}
	if _, err := l.Claim(ctx, "k1", "e1"); !errors.Is(err, ledger.ErrBusy) {
		t.Fatalf("same event redelivered while working = %v, want ErrBusy", err)
	}
	if err := l.Release(ctx, "k1", "e1"); err != nil {
		t.Fatal(err)
	}
	done, err = l.Claim(ctx, "k1", "e2")
	if err != nil || done {
		t.Fatalf("claim after release = %v, %v; want false, nil", done, err)
	}
	if err := l.Complete(ctx, "k1", "e2", "succeeded"); err != nil {
		t.Fatal(err)
	}
	for _, ev := range []string{"e1", "e2", "e3"} {
		done, err = l.Claim(ctx, "k1", ev)
		if err != nil || !done {
			t.Fatalf("claim of done work by %s = %v, %v; want true, nil", ev, done, err)
		}
	}
	e, ok, err := l.Get(ctx, "k1")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if e.State != ledger.StateDone || e.Outcome != "succeeded" || e.Claims != 2 {
		t.Errorf("entry = %+v, want done/succeeded after 2 claims", e)
	}
}

func TestExpiredLeaseIsReclaimed(t *testing.T) {
	env := emulatortest.Start(t)
	ctx := context.Background()
	l := ledger.New(env.Firestore(), 200*time.Millisecond)
	if _, err := l.Claim(ctx, "k", "dead-worker"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		done, err := l.Claim(ctx, "k", "retry")
		if err == nil && !done {
			return
		}
		if !errors.Is(err, ledger.ErrBusy) || time.Now().After(deadline) {
			t.Fatalf("claim after lease expiry = %v, %v", done, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
