package coordinator

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/packbench/packbench/pkg/jsonfile"
)

// Agent is one entry of a fleet: where an agent listens and, optionally,
// the name its host's directory takes and labels (such as the SKU) copied
// into fleet.csv and fleet.json.
type Agent struct {
	Name    string            `json:"name,omitempty"`
	Address string            `json:"address"`
	Labels  map[string]string `json:"labels,omitempty"`
}

// FleetError is a bad --agents list or fleet file; Field names the part at
// fault, such as "agents[2].address".
type FleetError struct {
	Source string
	Field  string
	Reason string
}

func (e *FleetError) Error() string {
	return fmt.Sprintf("%s: %s: %s", e.Source, e.Field, e.Reason)
}

// ParseAgentList reads --agents: addresses separated by commas.
func ParseAgentList(s string) ([]Agent, error) {
	var agents []Agent
	for i, a := range strings.Split(s, ",") {
		a = strings.TrimSpace(a)
		field := fmt.Sprintf("address %d (%q)", i+1, a)
		if err := checkAddress(a); err != nil {
			return nil, &FleetError{Source: "--agents", Field: field, Reason: err.Error()}
		}
		agents = append(agents, Agent{Address: a})
	}
	return agents, checkDuplicates("--agents", agents)
}

// ReadFleetFile reads a fleet file:
// {"agents":[{"name":"a1","address":"host:7070","labels":{"sku":"..."}}]}.
// Unknown fields are refused, so that a misspelt one is not silently lost.
func ReadFleetFile(path string) ([]Agent, error) {
	src := "--fleet " + path
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &FleetError{Source: src, Field: "file", Reason: err.Error()}
	}
	var f struct {
		Agents []Agent `json:"agents"`
	}
	if err := jsonfile.Decode(data, &f); err != nil {
		return nil, &FleetError{Source: src, Field: jsonField(err), Reason: err.Error()}
	}
	if len(f.Agents) == 0 {
		return nil, &FleetError{Source: src, Field: "agents",
			Reason: "no agent listed; accepted: a list of {\"address\": \"host:port\"}"}
	}
	for i, a := range f.Agents {
		if err := checkAddress(a.Address); err != nil {
			return nil, &FleetError{Source: src, Field: fmt.Sprintf("agents[%d].address", i),
				Reason: err.Error()}
		}
		for k := range a.Labels {
			if strings.TrimSpace(k) == "" {
				return nil, &FleetError{Source: src, Field: fmt.Sprintf("agents[%d].labels", i),
					Reason: "empty label name"}
			}
		}
	}
	return f.Agents, checkDuplicates(src, f.Agents)
}

// jsonField names the field a decoding error is about, as well as it can.
func jsonField(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return te.Field
	}
	if s := err.Error(); strings.Contains(s, "unknown field") {
		return s[strings.Index(s, "unknown field")+len("unknown field "):]
	}
	return "json"
}

// checkAddress accepts host:port with a port from 1 to 65535.
func checkAddress(a string) error {
	if a == "" {
		return errors.New("empty; accepted: host:port")
	}
	h, p, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("%v; accepted: host:port", err)
	}
	if h == "" {
		return errors.New("no host; accepted: host:port")
	}
	if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q; accepted: 1 to 65535", p)
	}
	return nil
}

func checkDuplicates(src string, agents []Agent) error {
	seen, names := map[string]int{}, map[string]int{}
	for i, a := range agents {
		if j, ok := seen[a.Address]; ok {
			return &FleetError{Source: src, Field: fmt.Sprintf("agents[%d].address", i),
				Reason: fmt.Sprintf("%s is listed twice (also agents[%d])", a.Address, j)}
		}
		seen[a.Address] = i
		// two hosts of one name could not be told apart in fleet.csv
		if j, ok := names[a.Name]; ok && a.Name != "" {
			return &FleetError{Source: src, Field: fmt.Sprintf("agents[%d].name", i),
				Reason: fmt.Sprintf("%q is used twice (also agents[%d])", a.Name, j)}
		}
		names[a.Name] = i
	}
	return nil
}

// SanitizeName makes s usable as a directory name: every character outside
// [A-Za-z0-9._-] becomes '_', a leading '.' too, and it is at most 64 bytes.
func SanitizeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == '-'
		if !ok || (i == 0 && c == '.') {
			b[i] = '_'
		}
	}
	if len(b) > 64 {
		b = b[:64]
	}
	if len(b) == 0 {
		return "host"
	}
	return string(b)
}

// reservedNames are files of the sweep's own beside the host directories.
var reservedNames = map[string]bool{"fleet.csv": true, "fleet.json": true, "sweep.json": true}

// UniqueNames sanitizes names and makes them unique, in order: a repeated
// name gets "-2", "-3", ... appended.
func UniqueNames(names []string) []string {
	taken := map[string]bool{}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = uniqueName(n, taken)
	}
	return out
}
