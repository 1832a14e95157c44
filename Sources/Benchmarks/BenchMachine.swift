import Foundation

/// Facts about the run a benchmark prints beside its numbers, so a ratio measured on a loaded
/// machine says so: CPU model, online cores, 1-minute load average, and process CPU time.
public enum BenchMachine {
    /// `model name` from /proc/cpuinfo ("unknown" elsewhere).
    public static var cpuModel: String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") { return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces) }
        }
        return "unknown"
    }

    /// Online cores.
    public static var cores: Int { ProcessInfo.processInfo.activeProcessorCount }

    /// The 1-minute load average from /proc/loadavg (nil where absent).
    public static var loadAverage: Double? {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return nil }
        return text.split(separator: " ").first.flatMap { Double($0) }
    }

    /// CPU seconds used by this process (all threads): unlike wall time, barely affected by other
    /// processes competing for the cores, so comparisons on a shared machine can use it too.
    public static func processCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Median of `values` (the mean of the middle two for an even count); nil when empty.
    public static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let s = values.sorted(), h = s.count / 2
        return s.count % 2 == 1 ? s[h] : (s[h - 1] + s[h]) / 2
    }
}
