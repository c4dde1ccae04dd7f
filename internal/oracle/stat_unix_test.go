package oracle

import "syscall"

func reflectStat(st any) [2]int {
	if s, ok := st.(*syscall.Stat_t); ok {
		return [2]int{int(s.Uid), int(s.Gid)}
	}
	return [2]int{-1, -1}
}
