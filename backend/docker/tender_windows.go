package docker

import "os"

// tenders: no tender on Windows (no POSIX record locks to find one again): pods are
// probed while kgit runs, as the README's Operating systems section says.
const tenders = false

func lockHolder(*os.File) int { return 0 }
func tryLock(*os.File) bool   { return false }
func terminate(int)           {}
