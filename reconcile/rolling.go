package reconcile

import (
	"fmt"
	"sort"
	"time"

	"kgit.dev/kgit/manifest"
)

// Strategy is a Deployment's rollout strategy reduced to what the arithmetic needs.
type Strategy struct {
	Type           string // RollingUpdate or Recreate
	Replicas       int
	MaxSurge       *manifest.IntOrString
	MaxUnavailable *manifest.IntOrString
}

// StrategyOf reads a defaulted Deployment's strategy.
func StrategyOf(d *manifest.Deployment) Strategy {
	s := Strategy{Type: d.Spec.Strategy.Type, Replicas: int(*d.Spec.Replicas)}
	if ru := d.Spec.Strategy.RollingUpdate; ru != nil {
		s.MaxSurge, s.MaxUnavailable = ru.MaxSurge, ru.MaxUnavailable
	}
	return s
}

// ScaleRS is a ReplicaSet as the Deployment controller's arithmetic sees it.
type ScaleRS struct {
	Name      string
	Replicas  int // spec.replicas
	Available int // status.availableReplicas
	Created   time.Time
}

// ResolveFenceposts turns maxSurge (rounded up) and maxUnavailable (rounded down) into
// numbers of pods; when both come out 0, unavailable becomes 1.
func ResolveFenceposts(maxSurge, maxUnavailable *manifest.IntOrString, desired int) (int, int, error) {
	zero := manifest.FromInt(0)
	if maxSurge == nil {
		maxSurge = &zero
	}
	if maxUnavailable == nil {
		maxUnavailable = &zero
	}
	surge, err := manifest.ScaledValue(maxSurge, desired, true)
	if err != nil {
		return 0, 0, err
	}
	unavailable, err := manifest.ScaledValue(maxUnavailable, desired, false)
	if err != nil {
		return 0, 0, err
	}
	if surge == 0 && unavailable == 0 {
		unavailable = 1
	}
	return surge, unavailable, nil
}

// MaxUnavailable is how many pods may be unavailable during a rolling update.
func MaxUnavailable(s Strategy) int {
	if s.Type != "RollingUpdate" || s.Replicas == 0 {
		return 0
	}
	_, u, _ := ResolveFenceposts(s.MaxSurge, s.MaxUnavailable, s.Replicas)
	return min(u, s.Replicas)
}

// MinAvailable is how many pods must stay available during a rolling update.
func MinAvailable(s Strategy) int {
	if s.Type != "RollingUpdate" {
		return 0
	}
	return s.Replicas - MaxUnavailable(s)
}

// MaxSurge is how many pods above the desired count a rolling update may run.
func MaxSurge(s Strategy) int {
	if s.Type != "RollingUpdate" {
		return 0
	}
	surge, _, _ := ResolveFenceposts(s.MaxSurge, s.MaxUnavailable, s.Replicas)
	return surge
}

// NewRSNewReplicas is how far the new ReplicaSet may be scaled up now.
func NewRSNewReplicas(s Strategy, all []ScaleRS, newRS ScaleRS) (int, error) {
	switch s.Type {
	case "RollingUpdate":
		surge, err := manifest.ScaledValue(s.MaxSurge, s.Replicas, true)
		if err != nil {
			return 0, err
		}
		current := sumReplicas(all)
		maxTotal := s.Replicas + surge
		if current >= maxTotal {
			return newRS.Replicas, nil
		}
		return newRS.Replicas + min(maxTotal-current, s.Replicas-newRS.Replicas), nil
	case "Recreate":
		return s.Replicas, nil
	}
	return 0, fmt.Errorf("deployment type %v isn't supported", s.Type)
}

func sumReplicas(rss []ScaleRS) int {
	n := 0
	for _, rs := range rss {
		n += rs.Replicas
	}
	return n
}

func sumAvailable(rss []ScaleRS) int {
	n := 0
	for _, rs := range rss {
		n += rs.Available
	}
	return n
}

// oldestFirst sorts ReplicaSets by creation time, then name.
func oldestFirst(rss []ScaleRS) {
	sort.SliceStable(rss, func(i, j int) bool {
		if !rss[i].Created.Equal(rss[j].Created) {
			return rss[i].Created.Before(rss[j].Created)
		}
		return rss[i].Name < rss[j].Name
	})
}

// ReconcileOld computes the old ReplicaSets' new sizes: unhealthy pods go first, then
// healthy ones as far as minAvailable allows. It returns the new sizes by name, and the
// counts scaled down in each phase.
func ReconcileOld(s Strategy, old []ScaleRS, newRS ScaleRS) (sizes map[string]int, cleaned, scaled int) {
	sizes = map[string]int{}
	if sumReplicas(old) == 0 {
		return sizes, 0, 0
	}
	all := append(append([]ScaleRS{}, old...), newRS)
	minAvailable := s.Replicas - MaxUnavailable(s)
	newUnavailable := newRS.Replicas - newRS.Available
	maxScaledDown := sumReplicas(all) - minAvailable - newUnavailable
	if maxScaledDown <= 0 {
		return sizes, 0, 0
	}
	old = append([]ScaleRS{}, old...)
	oldestFirst(old)
	old, cleaned = cleanupUnhealthy(old, maxScaledDown, sizes)
	scaled = scaleDownOld(s, append(append([]ScaleRS{}, old...), newRS), old, sizes)
	return sizes, cleaned, scaled
}

// cleanupUnhealthy scales old ReplicaSets down by their unavailable pods, oldest first.
// The returned copies have the new spec but the old status, as upstream's do.
func cleanupUnhealthy(old []ScaleRS, maxCleanup int, sizes map[string]int) ([]ScaleRS, int) {
	cleaned := 0
	for i, rs := range old {
		if cleaned >= maxCleanup {
			break
		}
		if rs.Replicas == 0 || rs.Replicas == rs.Available {
			continue
		}
		n := min(maxCleanup-cleaned, rs.Replicas-rs.Available)
		old[i].Replicas = rs.Replicas - n
		sizes[rs.Name] = old[i].Replicas
		cleaned += n
	}
	return old, cleaned
}

// scaleDownOld scales old ReplicaSets down, oldest first, by as many available pods as
// exceed minAvailable.
func scaleDownOld(s Strategy, all, old []ScaleRS, sizes map[string]int) int {
	minAvailable := s.Replicas - MaxUnavailable(s)
	available := sumAvailable(all)
	if available <= minAvailable {
		return 0
	}
	want, done := available-minAvailable, 0
	for _, rs := range old {
		if done >= want {
			break
		}
		if rs.Replicas == 0 {
			continue
		}
		n := min(rs.Replicas, want-done)
		sizes[rs.Name] = rs.Replicas - n
		done += n
	}
	return done
}
