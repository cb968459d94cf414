package ingress

import "errors"

// hangup: Windows has no SIGHUP; no backend routes Services there (see the docker
// backend's hostReachesPods), so no controller runs to be told.
func hangup(int) error { return errors.New("reloading the ingress controller needs a Unix host") }
