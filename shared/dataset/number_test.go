package dataset

import (
	"math"
	"strconv"
	"testing"
)

var floatCorpus = []string{
	"0", "-0", "+0", "1", "-1", "1.5", ".5", "5.", ".", "-", "+", "", "1e5", "1E-5", "1e+22", "1e23", "1e-22", "1e-23",
	"9007199254740993", "9007199254740992", "123456789012345678", "1234567890123456789", "12345678901234567890",
	"0.1", "0.2", "0.30000000000000004", "17.99", "0.006399", "2019", "1e", "1e+", "e5", "1.2.3", "1,5", " 1", "1 ",
	"NaN", "nan", "Inf", "-inf", "infinity", "0x1p-2", "1_000", "1e400", "-1e400", "1e-400", "4.9e-324",
	"1.7976931348623157e308", "000000000000000000000001.5", "0.000000000000000000000000000001", "1e-0000005",
	"100000000000000000000000", "3.4028235e38", "-.0e-0",
}

func TestParseFloatMatchesStrconv(t *testing.T) {
	for _, s := range floatCorpus {
		checkFloat(t, s)
	}
}

func checkFloat(t *testing.T, s string) {
	t.Helper()
	got, ok := parseFloat([]byte(s))
	want, err := strconv.ParseFloat(s, 64)
	wantOK := err == nil || err.(*strconv.NumError).Err == strconv.ErrRange
	if ok != wantOK {
		t.Fatalf("parseFloat(%q) ok = %v, strconv err = %v", s, ok, err)
	}
	if ok && math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
		t.Fatalf("parseFloat(%q) = %v (%#x), strconv = %v (%#x)", s, got, math.Float64bits(got), want, math.Float64bits(want))
	}
}

func FuzzParseFloat(f *testing.F) {
	for _, s := range floatCorpus {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkFloat(t, s) })
}

func TestParseFloatNoAlloc(t *testing.T) {
	b := []byte("-123.456e-7")
	if n := testing.AllocsPerRun(100, func() { parseFloat(b) }); n != 0 {
		t.Errorf("parseFloat allocates %v times per call on the fast path", n)
	}
}
