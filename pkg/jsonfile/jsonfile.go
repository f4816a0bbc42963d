// Package jsonfile decodes the JSON files that people write by hand (fleet
// files, agent configs) strictly, with errors that say where in the file
// the problem is.
package jsonfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode/utf8"
)

// bom is the UTF-8 byte order mark some editors put first; it is skipped.
var bom = []byte{0xEF, 0xBB, 0xBF}

// Decode decodes data, one JSON value, into v. Unknown object keys are
// refused so that a misspelt setting is not silently ignored, and anything
// after the value is refused too. Errors are wrapped with the line and
// column (in characters) where the decoder stopped; errors.As still finds
// the *json.SyntaxError or *json.UnmarshalTypeError beneath.
func Decode(data []byte, v any) error {
	data = bytes.TrimPrefix(data, bom)
	if len(bytes.TrimSpace(data)) == 0 {
		return errors.New("the file is empty; accepted: one JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		// Both offsets count the bytes read up to and including the one
		// the decoder stopped on.
		switch {
		case errors.As(err, &se):
			return fmt.Errorf("%s: %w", Position(data, se.Offset-1), err)
		case errors.As(err, &te):
			return &typeError{pos: Position(data, te.Offset-1), err: te}
		case errors.Is(err, io.ErrUnexpectedEOF):
			return fmt.Errorf("%s: the file ends inside a value: %w",
				Position(data, int64(len(data))), err)
		}
		// an unknown key: the decoder says which, not where; its first
		// appearance as a key is where a person looks
		if _, key, ok := strings.Cut(err.Error(), "unknown field "); ok {
			if i := bytes.Index(data, []byte(key)); i >= 0 {
				return fmt.Errorf("%s: %w", Position(data, int64(i)), err)
			}
		}
		return fmt.Errorf("near %s: %w", Position(data, dec.InputOffset()-1), err)
	}
	if rest := bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return fmt.Errorf("%s: unexpected data after the JSON value",
			Position(data, int64(len(data)-len(rest))))
	}
	return nil
}

// typeError says which key has a value of the wrong kind, in words a
// person who wrote the file can act on, and keeps the decoder's error
// beneath for errors.As.
type typeError struct {
	pos string
	err *json.UnmarshalTypeError
}

func (e *typeError) Error() string {
	key := e.err.Field
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		key = key[i+1:]
	}
	return fmt.Sprintf("%s: %q is a JSON %s; accepted: %s", e.pos, key, e.err.Value,
		kindWord(e.err.Type))
}

func (e *typeError) Unwrap() error { return e.err }

// kindWord names what a Go type takes in JSON.
func kindWord(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

// Position names the 1-based line and column of the byte at 0-based index
// i of data, counting columns in characters.
func Position(data []byte, i int64) string {
	i = min(max(i, 0), int64(len(data)))
	before := data[:i]
	line := bytes.Count(before, []byte("\n")) + 1
	col := utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:]) + 1
	return fmt.Sprintf("line %d, column %d", line, col)
}
