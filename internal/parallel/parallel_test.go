package parallel

import (
	"errors"
	"testing"
)

func TestMap(t *testing.T) {
	got, err := Map(100, func(i int) (int, error) { return i * i, nil })
	if err != nil || len(got) != 100 {
		t.Fatalf("Map: %v, %d results", err, len(got))
	}
	for i, v := range got {
		if v != i*i {
			t.Fatalf("result %d is %d: out of order", i, v)
		}
	}
	boom := errors.New("boom")
	if _, err := Map(10, func(i int) (int, error) {
		if i == 7 {
			return 0, boom
		}
		return i, nil
	}); !errors.Is(err, boom) {
		t.Errorf("an error of one call: got %v", err)
	}
	if got, err := Map(0, func(int) (int, error) { return 1, nil }); err != nil || len(got) != 0 {
		t.Errorf("no calls: %v, %v", got, err)
	}
}
