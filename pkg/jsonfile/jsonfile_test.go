package jsonfile_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/packbench/packbench/pkg/jsonfile"
)

type doc struct {
	Agents []struct {
		Address string `json:"address"`
	} `json:"agents"`
	Port int `json:"port"`
}

func TestDecodeErrorsSayWhere(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"double comma", "{\n  \"agents\": [\n    {\"address\": \"a:1\",, }\n  ]\n}\n",
			"line 3, column 23: invalid character ','"},
		{"first byte", "x", "line 1, column 1: invalid character 'x'"},
		{"type", "{\n\"port\": \"80\"\n}", `line 2, column 12: "port" is a JSON string; ` +
			"accepted: an integer"},
		{"unknown key", "{\n  \"agents\": [],\n  \"agentz\": [],\n  \"port\": 1\n}",
			`line 3, column 3: json: unknown field "agentz"`},
		{"trailing", "{}\n{}\n", "line 2, column 1: unexpected data after the JSON value"},
		{"truncated", "{\"agents\": [", "line 1, column 13: the file ends inside a value"},
		{"empty", " \n", "the file is empty"},
		{"columns count characters", "{\"port\": \"äöü\",, }", "line 1, column 16: invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d doc
			err := jsonfile.Decode([]byte(tt.in), &d)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Decode(%q) = %v, want an error containing %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestDecodeKeepsErrorTypes(t *testing.T) {
	var d doc
	err := jsonfile.Decode([]byte(`{"port": true}`), &d)
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) || te.Field != "port" {
		t.Errorf("Decode(port: true) = %v, want a *json.UnmarshalTypeError for port", err)
	}
}

func TestDecodeAccepts(t *testing.T) {
	var d doc
	// with the byte order mark some editors write first
	in := "\xef\xbb\xbf\n{\"agents\": [{\"address\": \"127.0.0.1:7070\"}], \"port\": 9}\n\n"
	if err := jsonfile.Decode([]byte(in), &d); err != nil {
		t.Fatalf("Decode(valid) = %v", err)
	}
	if len(d.Agents) != 1 || d.Agents[0].Address != "127.0.0.1:7070" || d.Port != 9 {
		t.Errorf("Decode(valid) = %+v", d)
	}
}
