package featurize

import (
	"context"
	"fmt"
	"maps"
	"math"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"github.com/megapipe/mega/shared/config"
	"github.com/megapipe/mega/shared/dataset"
	"github.com/megapipe/mega/shared/drift"
	"github.com/megapipe/mega/shared/events"
	"github.com/megapipe/mega/shared/features"
	"github.com/megapipe/mega/shared/runs"
	"github.com/megapipe/mega/shared/step"
)

// StepName is the step's name in run records.
const StepName = "featurize"

// Split percentages.
const (
	TrainPct = 80
	ValPct   = 10
)

// Step is the function.
var Step = &step.Step{Name: StepName, Function: config.FuncFeaturize, Work: Work}

func init() { functions.CloudEvent(config.FuncFeaturize, Step.Handle) }

// Work builds the features spec and the reference profile.
func Work(ctx context.Context, env *step.Env, run step.Run, in events.Input) (step.Result, error) {
	m := in.Message
	var schema *dataset.Schema
	raw, err := env.ReadArtifact(ctx, m.Artifacts["schema"])
	if err != nil {
		return step.Result{}, err
	}
	if schema, err = dataset.ParseSchema(raw); err != nil {
		return step.Result{}, step.Permanent(err)
	}
	r, err := env.OpenArtifact(ctx, m.Artifacts["clean"])
	if err != nil {
		return step.Result{}, err
	}
	all, err := dataset.Load(r, nil)
	r.Close()
	if err != nil {
		return step.Result{}, step.Permanentf("featurize: %w", err)
	}
	probe := &features.Spec{TrainPct: TrainPct, ValPct: ValPct}
	train := dataset.NewFrame(all.Schema, 0)
	counts := map[string]int64{}
	for i := 0; i < all.Len; i++ {
		s := probe.SplitOf(all.RowHash(i))
		counts[s]++
		if s == features.Train {
			train.AppendRow(all, i)
		}
	}
	spec, err := features.Build(schema, train, TrainPct, ValPct)
	if err != nil {
		return step.Result{}, step.Permanent(err)
	}
	spec.Counts = counts
	ref, err := Reference(schema, train)
	if err != nil {
		return step.Result{}, step.Permanent(err)
	}
	fa, err := env.WriteJSON(ctx, run.ID, StepName, "features.json", spec)
	if err != nil {
		return step.Result{}, err
	}
	ra, err := env.WriteJSON(ctx, run.ID, StepName, "reference.json", ref)
	if err != nil {
		return step.Result{}, err
	}
	outputs := maps.Clone(m.Artifacts)
	outputs["features"], outputs["reference"] = fa.URI, ra.URI
	msg := events.Message{RunID: run.ID, Dataset: run.Dataset, Step: StepName, Inputs: m.Inputs, Artifacts: outputs,
		Params: map[string]string{"task": string(spec.Task), "inputs": fmt.Sprint(spec.Width())}}
	return step.Result{
		Outcome: runs.Outcome{Counts: map[string]int64{"train": counts[features.Train], "val": counts[features.Val],
			"test": counts[features.Test], "inputs": int64(spec.Width())}, Outputs: outputs},
		Publish: []step.Publication{{Topic: config.TopicFeaturesReady, Message: msg}},
	}, nil
}

// Reference builds the drift reference profile of a frame's raw features.
func Reference(schema *dataset.Schema, f *dataset.Frame) (*drift.Reference, error) {
	inputs := schema.Inputs()
	cols := make([]drift.Feature, len(inputs))
	for i, ft := range inputs {
		k := drift.Numeric
		if ft.Type == dataset.Categorical {
			k = drift.Categorical
		}
		cols[i] = drift.Feature{Name: ft.Name, Kind: k}
	}
	b, err := drift.NewReferenceBuilder(cols)
	if err != nil {
		return nil, err
	}
	row := make(drift.Row, len(cols))
	for i := 0; i < f.Len; i++ {
		for j, c := range f.Columns {
			if c.Type == dataset.Numeric {
				v := float64(c.Num[i])
				if math.IsNaN(v) {
					row[j] = drift.Null()
				} else {
					row[j] = drift.Num(v)
				}
			} else if code := c.Code[i]; code < 0 {
				row[j] = drift.Null()
			} else {
				row[j] = drift.Cat(inputs[j].Values[code])
			}
		}
		if err := b.Add(row); err != nil {
			return nil, err
		}
	}
	return b.Build()
}
