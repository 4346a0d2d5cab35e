package main

// The chain's functions register themselves with functions-framework-go in
// init(); `mega functions serve` (the local stack's functions host) serves
// every registered function at /<Name>, as Cloud Functions serves each one.
import (
	_ "github.com/megapipe/mega/functions/collect"
	_ "github.com/megapipe/mega/functions/deploy"
	_ "github.com/megapipe/mega/functions/distill"
	_ "github.com/megapipe/mega/functions/driftcheck"
	_ "github.com/megapipe/mega/functions/featurize"
	_ "github.com/megapipe/mega/functions/ingest"
	_ "github.com/megapipe/mega/functions/quantize"
	_ "github.com/megapipe/mega/functions/train"
)
