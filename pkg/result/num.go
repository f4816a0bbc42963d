package result

import (
	"math"
)

func ptr(v float64) *float64 { return &v }

// round keeps d decimals; the files carry no false precision.
func round(v float64, d int) float64 {
	p := math.Pow(10, float64(d))
	return math.Round(v*p) / p
}
