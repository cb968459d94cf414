// Command linkcheck renders a folder of a commit as kgit does (gitsource.CommitFS,
// render.Render, manifest.Parse), so that TestLinkerDeadcode links all that render
// reaches.
package main

import (
	"context"
	"fmt"
	"os"

	"kgit.dev/kgit/manifest"
	"kgit.dev/kgit/manifest/gitsource"
	"kgit.dev/kgit/manifest/render"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: linkcheck REPO PATH")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
}

func run(repo, dir string) error {
	ctx := context.Background()
	r, err := gitsource.Open(ctx, gitsource.Source{Repo: repo})
	if err != nil {
		return err
	}
	commit, err := r.Resolve("")
	if err != nil {
		return err
	}
	fsys, err := commit.FS()
	if err != nil {
		return err
	}
	res, err := render.Render(ctx, fsys, dir, render.Options{Release: "app", Namespace: "default"})
	if err != nil {
		return err
	}
	objs, err := manifest.Parse(res.Files())
	if err != nil {
		return err
	}
	fmt.Println(commit.Hash, res.Kind, len(objs))
	return nil
}
