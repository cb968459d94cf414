// Package reconcile compares the desired objects of an app with what a backend runs and
// converges them the way the Kubernetes controllers do: Deployments own ReplicaSets, which
// own pods, named, hashed, rolled and deleted by Kubernetes' rules.
package controller

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"

	"kgit.dev/kgit/manifest"
)

// alphanums is Kubernetes' alphabet for generated names: no vowels, no confusable digits.
const alphanums = "bcdfghjklmnpqrstvwxz2456789"

// SafeEncodeString maps each byte to a character of alphanums, as rand.SafeEncodeString.
func SafeEncodeString(s string) string {
	r := make([]byte, len(s))
	for i, b := range []byte(s) {
		r[i] = alphanums[int(b)%len(alphanums)]
	}
	return string(r)
}

// TemplateHash is the pod-template-hash of a defaulted template: FNV-32a over a canonical
// serialization (JSON of kgit's types; Kubernetes hashes a Go struct dump, so the values
// differ but the shape is the same), collisionCount mixed in as Kubernetes does, printed
// in decimal and safe-encoded.
func TemplateHash(t *manifest.PodTemplateSpec, collisionCount int32) string {
	h := fnv.New32a()
	data, err := json.Marshal(t)
	if err != nil {
		panic(fmt.Sprintf("reconcile: hash template: %v", err)) // kgit's own types always marshal
	}
	h.Write(data)
	if collisionCount > 0 {
		b := make([]byte, 8)
		binary.LittleEndian.PutUint32(b, uint32(collisionCount))
		h.Write(b)
	}
	return SafeEncodeString(fmt.Sprint(h.Sum32()))
}

// PodName is GenerateName as the API server does it: the base cut to 58 characters plus
// 5 random characters of alphanums.
func PodName(base string) string {
	base += "-"
	if len(base) > 58 {
		base = base[:58]
	}
	return base + randomString(5)
}

func randomString(n int) string {
	out := make([]byte, 0, n)
	var buf [1]byte
	for len(out) < n {
		_, _ = rand.Read(buf[:])
		if i := int(buf[0] & 31); i < len(alphanums) {
			out = append(out, alphanums[i])
		}
	}
	return string(out)
}
