package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"kgit.dev/kgit/manifest"
)

// ErrInvalid marks an imperative change that cannot be made as asked (no such revision,
// no such Deployment): invalid input, nothing changed.
var ErrInvalid = errors.New("invalid")

// invalidError is an error that is ErrInvalid, with its own message.
type invalidError struct{ msg string }

func (e *invalidError) Error() string        { return e.msg }
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

func invalidf(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

// Deployment finds a Deployment of the app by name.
func (s *Syncer) Deployment(live Live, name string) (*Applied, error) {
	var found []*Applied
	for k, a := range live.Applied() {
		if k.Kind == "Deployment" && k.Name == name {
			found = append(found, a)
		}
	}
	switch len(found) {
	case 0:
		return nil, invalidf("deployment %q not found in app %s", name, s.App)
	case 1:
		return found[0], nil
	}
	return nil, invalidf("deployment %q exists in several namespaces of app %s", name, s.App)
}

// replace hands the target a changed version of an applied object, keeping its
// creation time.
func (s *Syncer) replace(ctx context.Context, live Live, a *Applied, obj any, commit string) error {
	data, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	return s.Target.Apply(ctx, live, &Applied{Key: a.Key, Object: obj, Commit: commit, Created: a.Created, Data: data})
}

// Scale sets a Deployment's replicas by hand, as an override that holds until git
// changes that Deployment's replicas.
func (s *Syncer) Scale(ctx context.Context, live Live, name string, replicas int32) error {
	a, err := s.Deployment(live, name)
	if err != nil {
		return err
	}
	d := *a.Object.(*manifest.Deployment)
	o := OverrideOf(d.Annotations)
	if o.Kind != "scale" {
		o = Override{Kind: "scale", GitReplicas: int(*d.Spec.Replicas)}
	}
	d.Spec.Replicas = &replicas
	d.Annotations = withOverride(d.Annotations, o)
	if err := s.replace(ctx, live, a, &d, a.Commit); err != nil {
		return err
	}
	s.Emit(ObjectName(a.Key), "Scaled", "%s scaled to %d", ObjectName(a.Key), replicas)
	return nil
}

// Restart is kubectl rollout restart: a restartedAt annotation on the Deployment's pod
// template, so the normal rolling update replaces every pod; an override that holds
// until git changes that Deployment.
func (s *Syncer) Restart(ctx context.Context, live Live, name string) error {
	a, err := s.Deployment(live, name)
	if err != nil {
		return err
	}
	d := *a.Object.(*manifest.Deployment)
	o := OverrideOf(d.Annotations)
	if o.Kind != "restart" {
		o = Override{Kind: "restart", Git: gitDigest(&d)}
	}
	at := s.Time().UTC().Format(time.RFC3339)
	d.Annotations = withOverride(d.Annotations, o)
	d.Spec.Template.Annotations = withKey(d.Spec.Template.Annotations, RestartedAtAnnotation, at)
	if err := s.replace(ctx, live, a, &d, a.Commit); err != nil {
		return err
	}
	s.Emit(ObjectName(a.Key), "Restarted", "%s restarted at %s", ObjectName(a.Key), at)
	return nil
}

// rollbackTo rolls a Deployment to obj (its version at an earlier commit, or its
// template of an earlier revision), as an override that holds until a sync of a commit
// other than base (the branch's commit when the rollback is made); target names what it
// rolled back to, commit is recorded as the commit the object came from.
func (s *Syncer) rollbackTo(ctx context.Context, live Live, a *Applied, obj *manifest.Deployment, base, target, commit, msg string) error {
	if prev := OverrideOf(a.Object.(*manifest.Deployment).Annotations); prev.Kind == "rollback" && prev.Base != "" {
		base = prev.Base // a second rollback still waits for the same branch move
	}
	d := *obj
	d.Annotations = withOverride(obj.Annotations, Override{Kind: "rollback", Base: base, Target: target})
	if err := s.replace(ctx, live, a, &d, commit); err != nil {
		return err
	}
	s.Emit(ObjectName(a.Key), "DeploymentRollback", "%s", msg)
	return nil
}

// Undo is kubectl rollout undo: it rolls a Deployment back to the template of an earlier
// revision (0: the previous one). check, when set, may refuse the revision's commit
// before anything changes. It returns kubectl's line for the user.
func (s *Syncer) Undo(ctx context.Context, live Live, name string, toRevision int, check func(commit string) error) (string, error) {
	a, err := s.Deployment(live, name)
	if err != nil {
		return "", err
	}
	hist := s.Target.History(live, a.Key)
	var revs []int
	for _, h := range hist {
		revs = append(revs, h.Number)
	}
	n, err := RollbackTarget(revs, toRevision)
	if err != nil {
		return "", invalidf("deployment %q: %v (nothing was changed)", name, err)
	}
	for _, h := range hist {
		if h.Number != n {
			continue
		}
		if h.Current {
			return fmt.Sprintf("deployment.apps/%s skipped rollback (current template already matches revision %d)", name, n), nil
		}
		if check != nil {
			if err := check(h.Commit); err != nil {
				return "", err
			}
		}
		d := *a.Object.(*manifest.Deployment)
		d.Spec.Template = h.Template
		if err := s.rollbackTo(ctx, live, a, &d, a.Commit, h.Commit, a.Commit, fmt.Sprintf("Rolled back deployment %q to revision %d", name, n)); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("deployment.apps/%s rolled back", name), nil
}

// PreviousCommit is the commit of the revision before a Deployment's current one.
func (s *Syncer) PreviousCommit(live Live, name string) (string, error) {
	a, err := s.Deployment(live, name)
	if err != nil {
		return "", err
	}
	hist := s.Target.History(live, a.Key)
	var revs []int
	byRev := map[int]Revision{}
	for _, h := range hist {
		revs = append(revs, h.Number)
		byRev[h.Number] = h
	}
	n, err := RollbackTarget(revs, 0)
	if err != nil {
		return "", invalidf("deployment %q: %v", name, err)
	}
	return byRev[n].Commit, nil
}

// RollbackDeployment rolls one Deployment to its manifest at commit target (objs are that
// commit's objects), held until the branch moves past head.
func (s *Syncer) RollbackDeployment(ctx context.Context, live Live, name string, objs []*manifest.Object, target, head string) error {
	a, err := s.Deployment(live, name)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if d, ok := o.Obj.(*manifest.Deployment); ok && o.Key() == a.Key {
			return s.rollbackTo(ctx, live, a, d, head, target, target, fmt.Sprintf("Rolled back deployment %q to commit %.12s", name, target))
		}
	}
	return invalidf("deployment %q does not exist at commit %.12s (nothing was changed)", name, target)
}

// RollbackApp syncs every object of the app to commit target (objs), pruning included,
// held until the branch moves past head.
func (s *Syncer) RollbackApp(ctx context.Context, objs []*manifest.Object, target, head string, allowEmpty bool) error {
	ov := Override{Kind: "app-rollback", Base: head, Target: target}
	return s.Sync(ctx, objs, SyncOptions{Commit: target, Prune: true, AllowEmpty: allowEmpty, AppRollback: &ov})
}

// AutoRollback rolls each failed Deployment back to its last fully available revision,
// with the normal rolling update, as an override (the next sync of the same commit does
// not retry it), and waits for that rollout. It returns one line per Deployment, each
// also emitted as an event, and an error only when the rollback itself could not be
// made or did not converge.
func (s *Syncer) AutoRollback(ctx context.Context, failed *RolloutError) ([]string, error) {
	live, err := s.Target.Load(ctx)
	if err != nil {
		return nil, err
	}
	var done []string
	rolled := false
	for _, k := range failed.Deployments {
		a := live.Applied()[k]
		if a == nil {
			continue
		}
		d := a.Object.(*manifest.Deployment)
		var target *Revision
		for _, h := range s.Target.History(live, k) {
			if h.LastComplete {
				target = &h
			}
		}
		if target == nil || target.Current {
			msg := fmt.Sprintf("deployment %q: no earlier revision was fully available: nothing to roll back to", d.Name)
			s.Emit(ObjectName(k), "DeploymentRollbackSkipped", "%s", msg)
			done = append(done, msg)
			continue
		}
		back := *d
		back.Spec.Template = target.Template
		msg := fmt.Sprintf("Rolled back deployment %q to revision %d (commit %.12s)", d.Name, target.Number, target.Commit)
		if err := s.rollbackTo(ctx, live, a, &back, a.Commit, target.Commit, target.Commit, msg); err != nil {
			return done, err
		}
		done = append(done, msg)
		rolled = true
	}
	if !rolled {
		return done, nil
	}
	return done, s.Target.Converge(ctx, nil)
}

func sortApplied(as []*Applied) {
	sort.Slice(as, func(i, j int) bool { return KeyLess(as[i].Key, as[j].Key) })
}

// KeyLess orders keys by kind, namespace, name.
func KeyLess(a, b manifest.Key) bool {
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}
