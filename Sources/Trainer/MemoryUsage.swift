import Foundation

/// Bytes a ``TensorBackend`` holds in tensors it allocated: now and at the peak so far.
public struct BackendMemory: Sendable, Equatable {
    public var currentBytes: Int
    public var peakBytes: Int
}

/// A thread-safe running total of allocated bytes and its peak (backends count their tensors with it).
public final class AllocationCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var current = 0, peak = 0
    public init() {}
    public func add(_ bytes: Int) { lock.lock(); current += bytes; peak = max(peak, current); lock.unlock() }
    public func remove(_ bytes: Int) { lock.lock(); current -= bytes; lock.unlock() }
    public var snapshot: BackendMemory { lock.lock(); defer { lock.unlock() }; return BackendMemory(currentBytes: current, peakBytes: peak) }
    /// Starts a new peak from the current total.
    public func resetPeak() { lock.lock(); peak = current; lock.unlock() }
}

/// The process's memory as the kernel reports it.
public enum ProcessMemory {
    /// Peak resident set size (`VmHWM` of /proc/self/status; `ru_maxrss` where there is no /proc).
    public static func peakResidentBytes() -> Int {
        if let kib = statusField("VmHWM:") { return kib * 1024 }
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss * 1024
        #else
        getrusage(RUSAGE_SELF, &usage)
        return usage.ru_maxrss
        #endif
    }

    /// Current resident set size (`VmRSS`), 0 where unknown.
    public static func residentBytes() -> Int { (statusField("VmRSS:") ?? 0) * 1024 }

    /// Physical memory of the machine (`MemTotal` of /proc/meminfo; Foundation's figure elsewhere).
    public static func physicalBytes() -> Int {
        if let kib = field("MemTotal:", in: "/proc/meminfo") { return kib * 1024 }
        return Int(ProcessInfo.processInfo.physicalMemory)
    }

    /// Memory available for new allocations without swapping (`MemAvailable`), nil where unknown.
    public static func availableBytes() -> Int? { field("MemAvailable:", in: "/proc/meminfo").map { $0 * 1024 } }

    static func statusField(_ key: String) -> Int? { field(key, in: "/proc/self/status") }

    /// The kB number after `key` in a /proc text file.
    static func field(_ key: String, in path: String) -> Int? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key) {
            return Int(line.dropFirst(key.count).split(separator: " ").first ?? "")
        }
        return nil
    }
}

extension StepMetrics {
    /// Fills the peak-memory fields from the process and `backend`.
    mutating func recordMemory(backend: TensorBackend) {
        peakResidentBytes = ProcessMemory.peakResidentBytes()
        peakBackendBytes = backend.memory.peakBytes
    }
}
