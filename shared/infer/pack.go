package infer

import (
	"github.com/megapipe/mega/shared/infer/kernels"
)

// packedFC holds FULLY_CONNECTED weights laid out for the fast kernel.
type packedFC struct {
	w           []int8
	outN, inDim int
	wZP         int32
}

func packFC(w []int8, outN, inDim int, wZP int32) *packedFC {
	return &packedFC{w: w, outN: outN, inDim: inDim, wZP: wZP}
}

func fcInt8(p *packedFC, batch int, x []int8, inZP int32, bias []int32, rq *kernels.Requant, out []int8) {
	kernels.FullyConnectedInt8(batch, p.inDim, p.outN, x, inZP, p.w, p.wZP, bias, rq, out)
}

// packedConv holds CONV_2D / DEPTHWISE_CONV_2D filters laid out for the fast
// kernels.
type packedConv struct {
	w []int8
}

func packConv(depthwise bool, w []int8, s kernels.ConvShape) *packedConv {
	return &packedConv{w: w}
}

func convInt8(p *packedConv, s kernels.ConvShape, x []int8, inZP int32, bias []int32, rq *kernels.Requant, out []int8) {
	kernels.Conv2DInt8(s, x, inZP, p.w, bias, rq, out)
}

func depthwiseInt8(p *packedConv, s kernels.ConvShape, x []int8, inZP int32, bias []int32, rq *kernels.Requant, out []int8) {
	kernels.DepthwiseConv2DInt8(s, x, inZP, p.w, bias, rq, out)
}
