import Glibc

/// Wall-clock seconds, for ages and uptimes shown to people and shared
/// between processes (a monotonic clock would do for one process only).
func wallClock() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Monotonic seconds, for the manager's own deadlines: immune to clock steps.
func monotonicClock() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
