package drift

import (
	"math"
	"slices"
)

// sortFloats sorts finite values ascending. Large slices use an LSD radix
// sort on the order-preserving bit pattern of the floats (about 4x faster
// than a comparison sort at a million values), small ones slices.Sort.
func sortFloats(xs []float64) { sortFloatsWith(xs, nil) }

// radixScratch holds the radix sort's two key buffers, so that one goroutine
// sorting many columns allocates them once, and (for CheckSample) the two
// buffers its sorted copies of a feature's samples are made in.
type radixScratch struct {
	keys, tmp []uint64
	ref, cur  []float64
}

// buffers returns two buffers of n keys, from sc when it is not nil.
func (sc *radixScratch) buffers(n int) ([]uint64, []uint64) {
	if sc == nil {
		return make([]uint64, n), make([]uint64, n)
	}
	if cap(sc.keys) < n {
		sc.keys, sc.tmp = make([]uint64, n), make([]uint64, n)
	}
	return sc.keys[:n], sc.tmp[:n]
}

// sortFloatsWith is sortFloats with the key buffers taken from sc (nil:
// allocate them).
func sortFloatsWith(xs []float64, sc *radixScratch) {
	if len(xs) < 1<<12 {
		slices.Sort(xs)
		return
	}
	if slices.IsSorted(xs) {
		return
	}
	n := len(xs)
	keys, tmp := sc.buffers(n)
	for i, x := range xs {
		b := math.Float64bits(x)
		if b>>63 == 1 {
			b = ^b
		} else {
			b |= 1 << 63
		}
		keys[i] = b
	}
	var counts [8][256]int
	for _, k := range keys {
		for d := range 8 {
			counts[d][byte(k>>(8*d))]++
		}
	}
	for d := range 8 {
		c := &counts[d]
		if c[byte(keys[0]>>(8*d))] == n {
			continue // every key has the same digit here
		}
		sum := 0
		for i := range c {
			c[i], sum = sum, sum+c[i]
		}
		shift := uint(8 * d)
		for _, k := range keys {
			dg := byte(k >> shift)
			tmp[c[dg]] = k
			c[dg]++
		}
		keys, tmp = tmp, keys
	}
	for i, b := range keys {
		if b>>63 == 1 {
			b &^= 1 << 63
		} else {
			b = ^b
		}
		xs[i] = math.Float64frombits(b)
	}
}
