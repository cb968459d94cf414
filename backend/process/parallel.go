package process

import (
	"runtime"
	"sync"
)

// readAll runs read(i) for i in [0, n) on every core (the reads are files and JSON
// decoding: a sync of a thousand objects reads a thousand records) and returns the
// results in order, or the first error.
func readAll[T any](n int, read func(i int) (T, error)) ([]T, error) {
	out := make([]T, n)
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i], errs[i] = read(i)
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
