// Package parallel runs independent reads on every core.
package parallel

import (
	"runtime"
	"sync"
)

// Map runs f(i) for i in [0, n) on every core (kgit's reads are files, YAML and JSON:
// a sync of a thousand objects reads a thousand of each) and returns the results in
// order, or the first error.
func Map[T any](n int, f func(i int) (T, error)) ([]T, error) {
	out := make([]T, n)
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i], errs[i] = f(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
