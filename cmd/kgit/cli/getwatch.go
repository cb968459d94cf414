package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"kgit.dev/kgit/cmd/kgit/cli/kubeprint"
)

// watchInterval is how often get -w reads the backend: one read of the apps' state, as
// a no-op sync makes.
const watchInterval = time.Second

// watchGet prints the list (unless --watch-only), then one row (or object) for each
// object that is added, changes or goes, until ctx ends.
func watchGet(ctx context.Context, g *globals, f *getFlags, out outputFormat, first kindGroup, load func() ([]kindGroup, error)) error {
	kind := first.kind
	event := kubeprint.Column{Name: "EVENT"}
	print := func(vs []view, ev string, headers bool) error {
		switch out.kind {
		case "json", "yaml":
			for _, v := range vs {
				if out.kind == "yaml" {
					fmt.Fprintln(g.stdout, "---")
				}
				if err := printObjects(g.stdout, []view{v}, true, out.kind); err != nil {
					return err
				}
			}
			return nil
		case "jsonpath":
			for _, v := range vs {
				if err := printJSONPath(g.stdout, out.path, []view{v}, true); err != nil {
					return err
				}
			}
			return nil
		case "name":
			for _, v := range vs {
				fmt.Fprintln(g.stdout, qualifiedName(v))
			}
			return nil
		}
		opts := tableOptions(f, out, vs, false)
		opts.NoHeaders = opts.NoHeaders || !headers
		if f.watchEvents {
			event.Cell = func(kubeprint.Object, time.Time) string { return ev }
			opts.Lead = append([]kubeprint.Column{event}, opts.Lead...)
		}
		return printTable(g.stdout, kind, vs, opts, time.Now())
	}
	seen := map[string]string{} // namespace/name -> the object as JSON
	last := map[string]view{}
	remember := func(vs []view) {
		for _, v := range vs {
			data, _ := json.Marshal(v.obj)
			seen[v.namespace+"/"+v.name], last[v.namespace+"/"+v.name] = string(data), v
		}
	}
	remember(first.vs)
	if !f.watchOnly && (len(first.vs) > 0 || out.kind != "") {
		if err := print(first.vs, "ADDED", true); err != nil {
			return err
		}
	}
	headers := f.watchOnly || len(first.vs) == 0 // the first row of a table prints its header
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(watchInterval):
		}
		groups, err := load()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		now := map[string]bool{}
		type change struct {
			v  view
			ev string
		}
		var changes []change
		for _, v := range groups[0].vs {
			key := v.namespace + "/" + v.name
			now[key] = true
			data, _ := json.Marshal(v.obj)
			old, ok := seen[key]
			switch {
			case !ok:
				changes = append(changes, change{v, "ADDED"})
			case old != string(data):
				changes = append(changes, change{v, "MODIFIED"})
			}
			seen[key], last[key] = string(data), v
		}
		var gone []string
		for key := range seen {
			if !now[key] {
				gone = append(gone, key)
			}
		}
		sort.Strings(gone)
		for _, key := range gone {
			changes = append(changes, change{last[key], "DELETED"})
			delete(seen, key)
			delete(last, key)
		}
		for _, c := range changes {
			if err := print([]view{c.v}, c.ev, headers); err != nil {
				return err
			}
			headers = false
		}
	}
}
