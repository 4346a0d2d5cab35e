package infer

import (
	"fmt"
	"testing"
	"time"
)

func TestZZLayers(t *testing.T) {
	dir := testdataDir(t)
	ip, _ := New(loadModel(t, dir, "person_detect.tflite"), Options{})
	var total time.Duration
	for _, n := range ip.nodes {
		best := time.Hour
		for range 50 {
			st := time.Now()
			n.k.eval(ip, n)
			best = min(best, time.Since(st))
		}
		total += best
		s := ""
		if c, ok := n.k.(*convKernel); ok {
			s = fmt.Sprintf("%dx%dx%d->%d k%d s%d", c.s.InH, c.s.InW, c.s.InC, c.s.OutC, c.s.KH, c.s.StrideH)
		}
		fmt.Printf("%2d %-18v %7d %9v %6.2f GMAC/s %s\n", n.index, n.op, n.macs, best, float64(n.macs)/best.Seconds()/1e9, s)
	}
	fmt.Println("total of minima", total)
}
