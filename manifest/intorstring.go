package manifest

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// IntOrString is Kubernetes' int-or-string: 3 or "25%" (or a port name).
type IntOrString struct {
	IsString bool
	IntVal   int32
	StrVal   string
}

// FromInt returns an integer IntOrString.
func FromInt(i int32) IntOrString { return IntOrString{IntVal: i} }

// FromString returns a string IntOrString.
func FromString(s string) IntOrString { return IntOrString{IsString: true, StrVal: s} }

// MarshalJSON writes a number or a string, as Kubernetes does.
func (v IntOrString) MarshalJSON() ([]byte, error) {
	if v.IsString {
		return json.Marshal(v.StrVal)
	}
	return json.Marshal(v.IntVal)
}

// UnmarshalJSON reads a number or a string.
func (v *IntOrString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		v.IsString = true
		return json.Unmarshal(b, &v.StrVal)
	}
	v.IsString = false
	return json.Unmarshal(b, &v.IntVal)
}

// String renders the value as a user wrote it.
func (v IntOrString) String() string {
	if v.IsString {
		return v.StrVal
	}
	return strconv.Itoa(int(v.IntVal))
}

// ScaledValue is intstr.GetScaledValueFromIntOrPercent: an int is returned as is, a
// percent is applied to total and rounded up or down.
func ScaledValue(v *IntOrString, total int, roundUp bool) (int, error) {
	if v == nil {
		return 0, fmt.Errorf("nil value for IntOrString")
	}
	if !v.IsString {
		return int(v.IntVal), nil
	}
	if !strings.HasSuffix(v.StrVal, "%") {
		return 0, fmt.Errorf("invalid value for IntOrString: invalid type: string is not a percentage")
	}
	p, err := strconv.Atoi(strings.TrimSuffix(v.StrVal, "%"))
	if err != nil {
		return 0, fmt.Errorf("invalid value %q: %w", v.StrVal, err)
	}
	if roundUp {
		return int(math.Ceil(float64(p) * float64(total) / 100)), nil
	}
	return int(math.Floor(float64(p) * float64(total) / 100)), nil
}
