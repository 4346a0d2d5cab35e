package dataset

import (
	"strconv"
)

// pow10 holds the powers of ten that are exact in float64.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseFloat parses b exactly as strconv.ParseFloat(string(b), 64) does,
// without allocating for ordinary decimal numbers. ok is false where
// ParseFloat returns an error other than a range error (which it does not
// have here: out-of-range values come back as ±Inf with ok true, like
// ParseFloat's value).
//
// The fast path is Clinger's: a decimal with at most 19 significant digits
// whose mantissa m fits in 53 bits and whose exponent e has |e| <= 22 is
// m * 10^e or m / 10^-e, each one correctly rounded IEEE operation on exact
// operands, so the result is the correctly rounded value. Everything else
// (long mantissas, large exponents, hex floats, underscores, inf, nan) goes
// to strconv.
func parseFloat(b []byte) (float64, bool) {
	i := 0
	neg := false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	var mant uint64
	digits, exp := 0, 0
	sawDigit := false
	start := i
	for ; i < len(b); i++ {
		d := b[i] - '0'
		if d > 9 {
			break
		}
		mant = mant*10 + uint64(d)
	}
	digits = i - start
	sawDigit = digits > 0
	if i < len(b) && b[i] == '.' {
		i++
		fs := i
		for ; i < len(b); i++ {
			d := b[i] - '0'
			if d > 9 {
				break
			}
			mant = mant*10 + uint64(d)
		}
		exp = fs - i
		digits += i - fs
		sawDigit = sawDigit || i > fs
	}
	if digits > 19 {
		// Leading zeros may make a long string exact; strconv decides.
		return slowFloat(b)
	}
	if !sawDigit {
		return slowFloat(b)
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		eneg := false
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			eneg = b[i] == '-'
			i++
		}
		if i >= len(b) {
			return 0, false
		}
		e := 0
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			if e > 10000 {
				return slowFloat(b)
			}
			e = e*10 + int(b[i]-'0')
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	if i != len(b) {
		return slowFloat(b)
	}
	if mant>>53 != 0 || exp > 22 || exp < -22 {
		return slowFloat(b)
	}
	f := float64(mant)
	if exp > 0 {
		f *= pow10[exp]
	} else if exp < 0 {
		f /= pow10[-exp]
	}
	if neg {
		f = -f
	}
	return f, true
}

func slowFloat(b []byte) (float64, bool) {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, true
		}
		return 0, false
	}
	return f, true
}

// isNaNToken reports whether b spells NaN in any letter case, the marker of
// a missing value that pandas and numpy write.
func isNaNToken(b []byte) bool {
	return len(b) == 3 && (b[0]|0x20) == 'n' && (b[1]|0x20) == 'a' && (b[2]|0x20) == 'n'
}

// finite reports whether f is neither infinite nor NaN (f-f is NaN for both).
func finite(f float64) bool { return f-f == 0 }
