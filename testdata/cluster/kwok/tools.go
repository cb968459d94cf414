//go:build tools

// Package tools pins the kwok binary build.sh builds.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
