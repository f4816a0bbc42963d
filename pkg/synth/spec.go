package synth

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/packbench/packbench/pkg/api"
)

// Type is the storage type of the weight matrices; norm weights are always
// f32.
type Type string

// Type values.
const (
	F32  Type = "f32"
	F16  Type = "f16"
	Q8_0 Type = "q8_0"
	Q4_0 Type = "q4_0"
)

// TypeNames lists the accepted types for messages.
const TypeNames = "f32, f16, q8_0, q4_0"

// ParseType accepts f32, f16, q8_0 and q4_0, in any case. The error wraps
// api.ErrInvalid.
func ParseType(s string) (Type, error) {
	switch t := Type(strings.ToLower(s)); t {
	case F32, F16, Q8_0, Q4_0:
		return t, nil
	}
	return "", fmt.Errorf("type %q: unknown, want one of %s: %w", s, TypeNames, api.ErrInvalid)
}

// RefPrefix starts every synthetic model reference.
const RefPrefix = "synth:"

// DefaultSeed is the seed of a reference that names none.
const DefaultSeed = 1

// Spec names one synthetic model file: the same Spec gives the same bytes on
// every host.
type Spec struct {
	Shape Shape  `json:"shape"`
	Type  Type   `json:"type"`
	Seed  uint64 `json:"seed"`
}

// IsModelRef reports whether s is meant as a synthetic model reference
// rather than a path.
func IsModelRef(s string) bool { return strings.HasPrefix(s, RefPrefix) }

// ParseModelRef parses "synth:SHAPE:TYPE[:SEED]", the seed in decimal and 1
// when left out. The error names the part that is wrong and wraps
// api.ErrInvalid.
func ParseModelRef(s string) (Spec, error) {
	if !IsModelRef(s) {
		return Spec{}, fmt.Errorf("parse model ref %q: want prefix %q: %w",
			s, RefPrefix, api.ErrInvalid)
	}
	parts := strings.Split(strings.TrimPrefix(s, RefPrefix), ":")
	if len(parts) < 2 || len(parts) > 3 {
		return Spec{}, fmt.Errorf("parse model ref %q: want synth:SHAPE:TYPE[:SEED]: %w",
			s, api.ErrInvalid)
	}

	shape, err := ShapeByName(parts[0])
	if err != nil {
		return Spec{}, fmt.Errorf("parse model ref %q: %w", s, err)
	}
	typ, err := ParseType(parts[1])
	if err != nil {
		return Spec{}, fmt.Errorf("parse model ref %q: %w", s, err)
	}

	spec := Spec{Shape: shape, Type: typ, Seed: DefaultSeed}
	if len(parts) == 3 {
		seed, err := strconv.ParseUint(parts[2], 10, 64)
		if err != nil {
			return Spec{}, fmt.Errorf("parse model ref %q: seed %q is not a decimal uint64: %w",
				s, parts[2], api.ErrInvalid)
		}
		spec.Seed = seed
	}
	return spec, nil
}

// String is the reference that ParseModelRef reads back, for a named shape.
func (s Spec) String() string {
	return fmt.Sprintf("%s%s:%s:%d", RefPrefix, s.Shape.Name, s.Type, s.Seed)
}

// Validate checks the shape and the type. The error wraps api.ErrInvalid.
func (s Spec) Validate() error {
	if _, err := ParseType(string(s.Type)); err != nil {
		return err
	}
	return s.Shape.Validate()
}

// FileName is a file name that tells the spec apart from any other, such as
// "synth-llama-7b-q4_0-s1.gguf".
func (s Spec) FileName() string {
	return fmt.Sprintf("synth-%s-%s-s%d.gguf", s.Shape.Name, s.Type, s.Seed)
}
