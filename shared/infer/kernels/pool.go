package kernels

// window returns the in-bounds input rows [ys,ye) and columns [xs,xe) of
// output pixel (oy, ox).
func (s ConvShape) window(oy, ox int) (ys, ye, xs, xe int) {
	y0 := oy*s.StrideH - s.PadTop
	x0 := ox*s.StrideW - s.PadLeft
	return max(0, y0), min(s.InH, y0+s.KH), max(0, x0), min(s.InW, x0+s.KW)
}

// AvgPoolInt8 averages in-bounds taps with rounding half away from zero
// (reference/integer_ops/pooling.h), then clamps to [lo, hi]. InC == OutC.
func AvgPoolInt8(s ConvShape, in []int8, lo, hi int32, out []int8) {
	for b := 0; b < s.Batch; b++ {
		for oy := 0; oy < s.OutH; oy++ {
			for ox := 0; ox < s.OutW; ox++ {
				ys, ye, xs, xe := s.window(oy, ox)
				n := int32((ye - ys) * (xe - xs))
				o := ((b*s.OutH+oy)*s.OutW + ox) * s.InC
				for c := 0; c < s.InC; c++ {
					var sum int32
					for iy := ys; iy < ye; iy++ {
						for ix := xs; ix < xe; ix++ {
							sum += int32(in[((b*s.InH+iy)*s.InW+ix)*s.InC+c])
						}
					}
					var avg int32
					switch {
					case n <= 0:
						avg = 0
					case sum > 0:
						avg = (sum + n/2) / n
					default:
						avg = (sum - n/2) / n
					}
					out[o+c] = int8(min(max(avg, lo), hi))
				}
			}
		}
	}
}

// MaxPoolInt8 takes the maximum of in-bounds taps, clamped to [lo, hi].
func MaxPoolInt8(s ConvShape, in []int8, lo, hi int32, out []int8) {
	for b := 0; b < s.Batch; b++ {
		for oy := 0; oy < s.OutH; oy++ {
			for ox := 0; ox < s.OutW; ox++ {
				ys, ye, xs, xe := s.window(oy, ox)
				o := ((b*s.OutH+oy)*s.OutW + ox) * s.InC
				for c := 0; c < s.InC; c++ {
					m := int32(-128)
					for iy := ys; iy < ye; iy++ {
						for ix := xs; ix < xe; ix++ {
							m = max(m, int32(in[((b*s.InH+iy)*s.InW+ix)*s.InC+c]))
						}
					}
					out[o+c] = int8(min(max(m, lo), hi))
				}
			}
		}
	}
}

// AvgPoolFloat averages in-bounds taps.
func AvgPoolFloat(s ConvShape, in []float32, lo, hi float32, out []float32) {
	for b := 0; b < s.Batch; b++ {
		for oy := 0; oy < s.OutH; oy++ {
			for ox := 0; ox < s.OutW; ox++ {
				ys, ye, xs, xe := s.window(oy, ox)
				n := float32((ye - ys) * (xe - xs))
				o := ((b*s.OutH+oy)*s.OutW + ox) * s.InC
				for c := 0; c < s.InC; c++ {
					var sum float32
					for iy := ys; iy < ye; iy++ {
						for ix := xs; ix < xe; ix++ {
							sum += in[((b*s.InH+iy)*s.InW+ix)*s.InC+c]
						}
					}
					v := float32(0)
					if n > 0 {
						v = sum / n
					}
					out[o+c] = min(max(v, lo), hi)
				}
			}
		}
	}
}

// MaxPoolFloat takes the maximum of in-bounds taps.
func MaxPoolFloat(s ConvShape, in []float32, lo, hi float32, out []float32) {
	for b := 0; b < s.Batch; b++ {
		for oy := 0; oy < s.OutH; oy++ {
			for ox := 0; ox < s.OutW; ox++ {
				ys, ye, xs, xe := s.window(oy, ox)
				o := ((b*s.OutH+oy)*s.OutW + ox) * s.InC
				for c := 0; c < s.InC; c++ {
					m := float32(-3.4028235e38)
					for iy := ys; iy < ye; iy++ {
						for ix := xs; ix < xe; ix++ {
							m = max(m, in[((b*s.InH+iy)*s.InW+ix)*s.InC+c])
						}
					}
					out[o+c] = min(max(m, lo), hi)
				}
			}
		}
	}
}
