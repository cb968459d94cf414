package manifest

import "encoding/json"

// MetaOf returns the TypeMeta and ObjectMeta of a typed object.
func MetaOf(obj any) (*TypeMeta, *ObjectMeta) {
	return (&Object{Obj: obj}).Meta()
}

// Copy returns a deep copy of a typed object.
func Copy(obj any) any {
	data, err := json.Marshal(obj)
	if err != nil {
		panic("manifest: copy: " + err.Error())
	}
	t, _ := MetaOf(obj)
	c := New(t.Kind)
	if err := json.Unmarshal(data, c); err != nil {
		panic("manifest: copy: " + err.Error())
	}
	return c
}

// DecryptedAnnotation marks an object that came from a SOPS-encrypted file: its values
// are shown nowhere, as a Secret's.
const DecryptedAnnotation = "kgit.dev/decrypted"

// Sensitive reports whether an object's values must never be shown: a Secret, or a
// ConfigMap that came from an encrypted file.
func Sensitive(obj any) bool {
	switch v := obj.(type) {
	case *Secret:
		return true
	case *ConfigMap:
		return v.Annotations[DecryptedAnnotation] == "true"
	}
	return false
}
