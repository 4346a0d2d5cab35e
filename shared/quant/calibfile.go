package quant

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// maxCalibBytes bounds a calibration file (1 GiB).
const maxCalibBytes = 1 << 30

// ReadCalibration reads calibration samples for a model whose inputs hold
// sizes[i] float values each. Two formats:
//
//   - CSV (a name ending in .csv): one sample per line, the values of every
//     input in order, comma-separated; a first line that is not all numbers
//     is a header and is skipped.
//   - anything else: raw little-endian float32, samples back to back.
func ReadCalibration(path string, sizes []int) ([][][]float32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read calibration: %w", err)
	}
	defer f.Close()
	samples, err := DecodeCalibration(f, strings.HasSuffix(strings.ToLower(path), ".csv"), sizes)
	if err != nil {
		return nil, fmt.Errorf("read calibration %s: %w", path, err)
	}
	return samples, nil
}

// DecodeCalibration reads samples in CSV (csv true) or raw float32 form, as
// described at ReadCalibration.
func DecodeCalibration(r io.Reader, csv bool, sizes []int) ([][][]float32, error) {
	total := 0
	for _, s := range sizes {
		if s < 0 {
			return nil, fmt.Errorf("%w: negative input size %d", ErrBadCalibration, s)
		}
		total += s
	}
	if total == 0 {
		return nil, fmt.Errorf("%w: the model's inputs hold no values", ErrBadCalibration)
	}
	var flat [][]float32
	var err error
	if csv {
		flat, err = readCSV(r, total)
	} else {
		flat, err = readRaw(r, total)
	}
	if err != nil {
		return nil, err
	}
	samples := make([][][]float32, len(flat))
	for i, row := range flat {
		off := 0
		for _, s := range sizes {
			samples[i] = append(samples[i], row[off:off+s])
			off += s
		}
	}
	return samples, nil
}

func readCSV(r io.Reader, width int) ([][]float32, error) {
	sc := bufio.NewScanner(io.LimitReader(r, maxCalibBytes))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var out [][]float32
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		fields := strings.Split(text, ",")
		row := make([]float32, 0, len(fields))
		bad := ""
		for _, fl := range fields {
			v, err := strconv.ParseFloat(strings.TrimSpace(fl), 32)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				bad = fl
				break
			}
			row = append(row, float32(v))
		}
		if bad != "" {
			if line == 1 {
				continue // header
			}
			return nil, fmt.Errorf("%w: line %d: %q is not a finite number", ErrBadCalibration, line, bad)
		}
		if len(row) != width {
			return nil, fmt.Errorf("%w: line %d has %d values, the model's inputs hold %d", ErrBadCalibration, line, len(row), width)
		}
		out = append(out, row)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCalibration, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no rows", ErrBadCalibration)
	}
	return out, nil
}

func readRaw(r io.Reader, width int) ([][]float32, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxCalibBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxCalibBytes {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrBadCalibration, maxCalibBytes)
	}
	if len(b) == 0 || len(b)%(4*width) != 0 {
		return nil, fmt.Errorf("%w: %d bytes is not a whole number of %d-value float32 samples", ErrBadCalibration, len(b), width)
	}
	out := make([][]float32, len(b)/(4*width))
	for i := range out {
		row := make([]float32, width)
		for k := range row {
			v := math.Float32frombits(binary.LittleEndian.Uint32(b[4*(i*width+k):]))
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("%w: sample %d value %d is not finite", ErrBadCalibration, i, k)
			}
			row[k] = v
		}
		out[i] = row
	}
	return out, nil
}
