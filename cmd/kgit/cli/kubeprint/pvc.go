package kubeprint

import (
	"fmt"
	"io"
	"time"

	"kgit.dev/kgit/manifest"
)

func init() {
	register(&Printer{Kind: "PersistentVolumeClaim", Columns: []Column{nameColumn,
		{Name: "STATUS", Cell: func(o Object, _ time.Time) string { return o.Str("status", "phase") }},
		{Name: "VOLUME", Cell: func(o Object, _ time.Time) string { return o.Str("spec", "volumeName") }},
		{Name: "CAPACITY", Cell: func(o Object, _ time.Time) string { return o.Str("status", "capacity", "storage") }},
		{Name: "ACCESS MODES", Cell: func(o Object, _ time.Time) string { return claimAccessModes(o) }},
		{Name: "STORAGECLASS", Cell: func(o Object, _ time.Time) string { return o.Str("spec", "storageClassName") }},
		{Name: "VOLUMEATTRIBUTESCLASS", Cell: func(o Object, _ time.Time) string { return orUnset(o.Str("spec", "volumeAttributesClassName")) }},
		ageColumn,
		{Name: "VOLUMEMODE", Wide: true, Cell: func(o Object, _ time.Time) string { return o.Str("spec", "volumeMode") }},
	}, Describe: describeClaim})
}

func orUnset(s string) string {
	if s == "" {
		return "<unset>"
	}
	return s
}

func claimAccessModes(o Object) string {
	var modes []string
	o.Decode(&modes, "status", "accessModes")
	return manifest.AccessModesString(modes)
}

func describeClaim(w io.Writer, o Object, _ []Object, _ time.Time) {
	field(w, "StorageClass", o.Str("spec", "storageClassName"))
	field(w, "Status", o.Str("status", "phase"))
	field(w, "Volume", o.Str("spec", "volumeName"))
	field(w, "Capacity", o.Str("status", "capacity", "storage"))
	field(w, "Access Modes", claimAccessModes(o))
	field(w, "VolumeMode", o.Str("spec", "volumeMode"))
	fmt.Fprintln(w)
}
