package kernels

// ConvShape describes a 2-D convolution or pooling window over NHWC data.
type ConvShape struct {
	Batch, InH, InW, InC int
	OutH, OutW, OutC     int
	KH, KW               int
	StrideH, StrideW     int
	DilH, DilW           int
	PadTop, PadLeft      int
	DepthMultiplier      int // DEPTHWISE_CONV_2D only
}

// Padding is the TFLite padding scheme.
type Padding int

// Padding schemes (schema Padding).
const (
	PadSame  Padding = 0
	PadValid Padding = 1
)

// OutSize returns the output size along one axis and the padding before it
// (TFLite kernels/padding.h).
func OutSize(pad Padding, in, k, stride, dil int) (out, before int) {
	eff := (k-1)*dil + 1
	if pad == PadSame {
		out = (in + stride - 1) / stride
	} else {
		out = (in - eff + stride) / stride
	}
	if out < 0 {
		out = 0
	}
	total := max(0, (out-1)*stride+eff-in)
	return out, total / 2
}

// MACs returns the multiply-accumulates of a CONV_2D with this shape.
func (s ConvShape) MACs() int64 {
	return int64(s.Batch) * int64(s.OutH*s.OutW) * int64(s.OutC) * int64(s.KH*s.KW*s.InC)
}

// Conv2DInt8 is the reference int8 CONV_2D: filter [OC,KH,KW,IC], bias int32
// [OC] (may be nil), per-channel or per-tensor requantization. Taps outside
// the image are skipped (the same as padding with the input zero point).
func Conv2DInt8(s ConvShape, in []int8, inZP int32, filter []int8, bias []int32, rq *Requant, out []int8) {
	perChan := len(rq.Mult) > 1
	for b := 0; b < s.Batch; b++ {
		for oy := 0; oy < s.OutH; oy++ {
			for ox := 0; ox < s.OutW; ox++ {
				o := ((b*s.OutH+oy)*s.OutW + ox) * s.OutC
				for oc := 0; oc < s.OutC; oc++ {
					var acc int32
					for ky := 0; ky < s.KH; ky++ {
						iy := oy*s.StrideH - s.PadTop + ky*s.DilH
						if iy < 0 || iy >= s.InH {
							continue
						}
						for kx := 0; kx < s.KW; kx++ {
							ix := ox*s.StrideW - s.PadLeft + kx*s.DilW
							if ix < 0 || ix >= s.InW {
								continue
							}
							ip := in[((b*s.InH+iy)*s.InW+ix)*s.InC:][:s.InC]
							fp := filter[((oc*s.KH+ky)*s.KW+kx)*s.InC:][:s.InC]
							for ic, x := range ip {
								acc += int32(fp[ic]) * (int32(x) - inZP)
							}
						}
					}
					if bias != nil {
						acc += bias[oc]
					}
					c := 0
					if perChan {
						c = oc
					}
					out[o+oc] = rq.Apply(acc, c)
				}
			}
		}
	}
}

// Conv2DFloat is the float CONV_2D with a fused activation range.
func Conv2DFloat(s ConvShape, in, filter, bias []float32, lo, hi float32, out []float32) {
	for b := 0; b < s.Batch; b++ {
		for oy := 0; oy < s.OutH; oy++ {
			for ox := 0; ox < s.OutW; ox++ {
				o := ((b*s.OutH+oy)*s.OutW + ox) * s.OutC
				for oc := 0; oc < s.OutC; oc++ {
					var acc float32
					for ky := 0; ky < s.KH; ky++ {
						iy := oy*s.StrideH - s.PadTop + ky*s.DilH
						if iy < 0 || iy >= s.InH {
							continue
						}
						for kx := 0; kx < s.KW; kx++ {
							ix := ox*s.StrideW - s.PadLeft + kx*s.DilW
							if ix < 0 || ix >= s.InW {
								continue
							}
							ip := in[((b*s.InH+iy)*s.InW+ix)*s.InC:][:s.InC]
							fp := filter[((oc*s.KH+ky)*s.KW+kx)*s.InC:][:s.InC]
							for ic, x := range ip {
								acc += fp[ic] * x
							}
						}
					}
					if bias != nil {
						acc += bias[oc]
					}
					out[o+oc] = min(max(acc, lo), hi)
				}
			}
		}
	}
}

// DepthwiseConv2DInt8 is the reference int8 DEPTHWISE_CONV_2D: filter
// [1,KH,KW,IC*M], output channel oc = ic*M + m.
func DepthwiseConv2DInt8(s ConvShape, in []int8, inZP int32, filter []int8, bias []int32, rq *Requant, out []int8) {
	perChan := len(rq.Mult) > 1
	m := s.DepthMultiplier
	for b := 0; b < s.Batch; b++ {
		for oy := 0; oy < s.OutH; oy++ {
			for ox := 0; ox < s.OutW; ox++ {
				o := ((b*s.OutH+oy)*s.OutW + ox) * s.OutC
				for oc := 0; oc < s.OutC; oc++ {
					ic := oc / m
					var acc int32
					for ky := 0; ky < s.KH; ky++ {
						iy := oy*s.StrideH - s.PadTop + ky*s.DilH
						if iy < 0 || iy >= s.InH {
							continue
						}
						for kx := 0; kx < s.KW; kx++ {
							ix := ox*s.StrideW - s.PadLeft + kx*s.DilW
							if ix < 0 || ix >= s.InW {
								continue
							}
							x := int32(in[((b*s.InH+iy)*s.InW+ix)*s.InC+ic])
							acc += int32(filter[(ky*s.KW+kx)*s.OutC+oc]) * (x - inZP)
						}
					}
					if bias != nil {
						acc += bias[oc]
					}
					c := 0
					if perChan {
						c = oc
					}
					out[o+oc] = rq.Apply(acc, c)
				}
			}
		}
	}
}

// DepthwiseConv2DFloat is the float DEPTHWISE_CONV_2D.
func DepthwiseConv2DFloat(s ConvShape, in, filter, bias []float32, lo, hi float32, out []float32) {
	m := s.DepthMultiplier
	for b := 0; b < s.Batch; b++ {
		for oy := 0; oy < s.OutH; oy++ {
			for ox := 0; ox < s.OutW; ox++ {
				o := ((b*s.OutH+oy)*s.OutW + ox) * s.OutC
				for oc := 0; oc < s.OutC; oc++ {
					ic := oc / m
					var acc float32
					for ky := 0; ky < s.KH; ky++ {
						iy := oy*s.StrideH - s.PadTop + ky*s.DilH
						if iy < 0 || iy >= s.InH {
							continue
						}
						for kx := 0; kx < s.KW; kx++ {
							ix := ox*s.StrideW - s.PadLeft + kx*s.DilW
							if ix < 0 || ix >= s.InW {
								continue
							}
							acc += filter[(ky*s.KW+kx)*s.OutC+oc] * in[((b*s.InH+iy)*s.InW+ix)*s.InC+ic]
						}
					}
					if bias != nil {
						acc += bias[oc]
					}
					out[o+oc] = min(max(acc, lo), hi)
				}
			}
		}
	}
}

// FullyConnectedInt8 computes out[b,o] = requant(Σ_d (w[o,d]-wZP)*(x[b,d]-inZP) + bias[o]).
func FullyConnectedInt8(batch, inDim, outDim int, in []int8, inZP int32, w []int8, wZP int32, bias []int32, rq *Requant, out []int8) {
	perChan := len(rq.Mult) > 1
	for b := 0; b < batch; b++ {
		x := in[b*inDim:][:inDim]
		for o := 0; o < outDim; o++ {
			wr := w[o*inDim:][:inDim]
			var acc int32
			for d, v := range x {
				acc += (int32(wr[d]) - wZP) * (int32(v) - inZP)
			}
			if bias != nil {
				acc += bias[o]
			}
			c := 0
			if perChan {
				c = o
			}
			out[b*outDim+o] = rq.Apply(acc, c)
		}
	}
}

// FullyConnectedFloat computes out[b,o] = clamp(Σ_d w[o,d]*x[b,d] + bias[o]).
func FullyConnectedFloat(batch, inDim, outDim int, in, w, bias []float32, lo, hi float32, out []float32) {
	for b := 0; b < batch; b++ {
		x := in[b*inDim:][:inDim]
		for o := 0; o < outDim; o++ {
			wr := w[o*inDim:][:inDim]
			var acc float32
			for d, v := range x {
				acc += wr[d] * v
			}
			if bias != nil {
				acc += bias[o]
			}
			out[b*outDim+o] = min(max(acc, lo), hi)
		}
	}
}
