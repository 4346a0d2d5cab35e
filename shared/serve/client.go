package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/megapipe/mega/shared/features"
	"github.com/megapipe/mega/shared/tflite"
)

// ReadInstances reads instances for `mega predict`: CSV with a header row of
// feature names (empty cells are missing, numbers are numbers, anything
// else a category), a JSON array of instances (objects or lists), or JSON
// lines (one instance per line).
func ReadInstances(r io.Reader) ([]any, error) {
	br := bufio.NewReader(r)
	first, err := br.Peek(1)
	for err == nil && (first[0] == ' ' || first[0] == '\n' || first[0] == '\r' || first[0] == '\t') {
		_, _ = br.ReadByte()
		first, err = br.Peek(1)
	}
	if err != nil {
		return nil, errors.New("predict: no input")
	}
	switch first[0] {
	case '[':
		dec := json.NewDecoder(br)
		dec.UseNumber()
		var out []any
		if err := dec.Decode(&out); err != nil {
			return nil, fmt.Errorf("predict: JSON input: %w", err)
		}
		return out, nil
	case '{':
		dec := json.NewDecoder(br)
		dec.UseNumber()
		var out []any
		for {
			var v any
			err := dec.Decode(&v)
			if err == io.EOF {
				return out, nil
			}
			if err != nil {
				return nil, fmt.Errorf("predict: JSON line %d: %w", len(out)+1, err)
			}
			out = append(out, v)
		}
	}
	cr := csv.NewReader(br)
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("predict: CSV header: %w", err)
	}
	var out []any
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("predict: CSV: %w", err)
		}
		obj := make(map[string]any, len(rec))
		for i, v := range rec {
			v = strings.TrimSpace(v)
			switch f, err := strconv.ParseFloat(v, 64); {
			case v == "":
				obj[header[i]] = nil
			case err == nil:
				obj[header[i]] = json.Number(v)
				_ = f
			default:
				obj[header[i]] = v
			}
		}
		out = append(out, obj)
	}
}

// Answer is a TF Serving predict answer of this server.
type Answer struct {
	Predictions  []json.RawMessage `json:"predictions"`
	Model        string            `json:"model"`
	ModelVersion string            `json:"model_version"`
}

// Predict sends instances to a running server (TF Serving REST) in chunks
// of at most chunk instances and returns the predictions in order.
func Predict(ctx context.Context, baseURL, model, version string, instances []any, chunk int) (Answer, error) {
	if chunk <= 0 {
		chunk = 256
	}
	path := strings.TrimRight(baseURL, "/") + "/v1/models/" + model
	if version != "" {
		path += "/versions/" + VersionNumber(version)
	}
	path += ":predict"
	client := &http.Client{Timeout: 60 * time.Second}
	var all Answer
	for i := 0; i < len(instances); i += chunk {
		body, err := json.Marshal(map[string]any{"instances": instances[i:min(i+chunk, len(instances))]})
		if err != nil {
			return all, fmt.Errorf("predict: %w", err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, path, bytes.NewReader(body))
		if err != nil {
			return all, fmt.Errorf("predict: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return all, fmt.Errorf("predict: %w", err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return all, fmt.Errorf("predict: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			var e struct {
				Error string `json:"error"`
			}
			if json.Unmarshal(b, &e) == nil && e.Error != "" {
				return all, fmt.Errorf("predict: %s (HTTP %d, instances from %d)", e.Error, resp.StatusCode, i)
			}
			return all, fmt.Errorf("predict: HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(b))
		}
		var a Answer
		if err := json.Unmarshal(b, &a); err != nil {
			return all, fmt.Errorf("predict: answer: %w", err)
		}
		all.Predictions = append(all.Predictions, a.Predictions...)
		all.Model, all.ModelVersion = a.Model, a.ModelVersion
	}
	return all, nil
}

// ProbeBody is a one-instance TF Serving body for a model file (and its
// spec, if any): the spec's features with a number or the first category,
// or a row of zeros.
func ProbeBody(model []byte, spec *features.Spec) ([]byte, error) {
	if spec != nil {
		var meta V2Metadata
		meta.Parameters.Categories = map[string][]string{}
		for _, f := range spec.Features {
			dt := "FP32"
			if len(f.Values) > 0 {
				dt = "BYTES"
				meta.Parameters.Categories[f.Name] = f.Values[:1]
			}
			meta.Inputs = append(meta.Inputs, v2MetaTensor{Name: f.Name, Datatype: dt})
		}
		return SyntheticBody(meta, 1, 1), nil
	}
	m, err := tflite.Parse(model)
	if err != nil {
		return nil, err
	}
	sg := &m.Subgraphs[0]
	if len(sg.Inputs) != 1 {
		return nil, fmt.Errorf("model has %d inputs", len(sg.Inputs))
	}
	shape := sg.Tensors[sg.Inputs[0]].Shape
	if len(shape) == 0 {
		return nil, errors.New("model input has no shape")
	}
	row := make([]string, shape[len(shape)-1])
	for i := range row {
		row[i] = "0"
	}
	return []byte(`{"instances":[[` + strings.Join(row, ",") + `]]}`), nil
}
