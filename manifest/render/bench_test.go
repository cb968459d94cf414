package render

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"kgit.dev/kgit/manifest"
)

// benchRepos returns a kustomize app of n objects (Deployments, Services and ConfigMaps
// in files of ten, an overlay setting a namespace and labels) and the same n objects, as
// kustomize renders them, written as a plain folder.
func benchRepos(b *testing.B, n int) (kust, plain fstest.MapFS) {
	kust = fstest.MapFS{}
	var resources []string
	var file bytes.Buffer
	flush := func(i int) {
		name := fmt.Sprintf("objects-%04d.yaml", i)
		kust["app/base/"+name] = &fstest.MapFile{Data: bytes.Clone(file.Bytes())}
		resources = append(resources, "  - "+name)
		file.Reset()
	}
	for i := 0; i < n; i++ {
		fmt.Fprintln(&file, "---")
		switch i % 3 {
		case 0:
			fmt.Fprintf(&file, `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-%[1]d
spec:
  replicas: 2
  selector:
    matchLabels: {app: web-%[1]d}
  template:
    metadata:
      labels: {app: web-%[1]d}
    spec:
      containers:
        - name: web
          image: ghcr.io/example/web:1.0.%[1]d
          command: ["/web", "--port=8080"]
          ports: [{containerPort: 8080}]
          env: [{name: INDEX, value: "%[1]d"}]
`, i)
		case 1:
			fmt.Fprintf(&file, `apiVersion: v1
kind: Service
metadata:
  name: web-%[1]d
spec:
  selector: {app: web-%[1]d}
  ports: [{port: 80, targetPort: 8080}]
`, i)
		default:
			fmt.Fprintf(&file, `apiVersion: v1
kind: ConfigMap
metadata:
  name: config-%[1]d
data:
  index: "%[1]d"
  greeting: hello
`, i)
		}
		if i%10 == 9 {
			flush(i / 10)
		}
	}
	if file.Len() > 0 {
		flush(n / 10)
	}
	kust["app/base/kustomization.yaml"] = &fstest.MapFile{Data: []byte("resources:\n" + strings.Join(resources, "\n") + "\n")}
	kust["app/prod/kustomization.yaml"] = &fstest.MapFile{Data: []byte(`resources: [../base]
namespace: shop
labels:
  - pairs: {team: shop, env: prod}
`)}
	res, err := Render(context.Background(), kust, "app/prod", Options{})
	if err != nil {
		b.Fatal(err)
	}
	plain = fstest.MapFS{}
	for i := 0; i < len(res.Docs); i += 10 {
		var f bytes.Buffer
		for _, d := range res.Docs[i:min(i+10, len(res.Docs))] {
			f.WriteString("---\n")
			f.Write(d.Data)
		}
		plain[fmt.Sprintf("app/plain/objects-%04d.yaml", i/10)] = &fstest.MapFile{Data: f.Bytes()}
	}
	return kust, plain
}

// BenchmarkRender renders n objects from a kustomization and from a plain folder of the
// same objects, and then decodes them (manifest.Parse) as a sync would. Kustomize's cost
// grows with the square of the objects (its resource map checks every new object's id
// against all others).
func BenchmarkRender(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchRender(b, n) })
	}
}

func benchRender(b *testing.B, n int) {
	kust, plain := benchRepos(b, n)
	for _, bc := range []struct {
		name    string
		fsys    fstest.MapFS
		dir     string
		parse   bool
		sources bool
	}{
		{"kustomize", kust, "app/prod", false, false},
		{"kustomize+sources", kust, "app/prod", false, true},
		{"plain", plain, "app/plain", false, false},
		{"kustomize+parse", kust, "app/prod", true, false},
		{"plain+parse", plain, "app/plain", true, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				res, err := Render(context.Background(), bc.fsys, bc.dir, Options{Sources: bc.sources})
				if err != nil {
					b.Fatal(err)
				}
				if bc.parse {
					objs, err := manifest.Parse(res.Files())
					if err != nil {
						b.Fatal(err)
					}
					if len(objs) != n {
						b.Fatalf("%d objects", len(objs))
					}
				}
			}
		})
	}
}
