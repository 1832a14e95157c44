import Dispatch

/// Splits `0..<count` into contiguous chunks and runs them on up to `threads` workers.
///
/// Rows of a batch are independent, so the engine fans them out here; a chunk per worker (not per
/// row) keeps scheduling overhead negligible next to a 2,048-token row.
enum ParallelRows {
    static func forEach(count: Int, threads: Int, _ body: (Range<Int>) -> Void) {
        let workers = max(1, min(threads, count))
        if workers == 1 { body(0..<count); return }
        let chunk = (count + workers - 1) / workers
        withoutActuallyEscaping(body) { body in
            let box = UncheckedBox(body)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                let lo = w * chunk, hi = min(count, lo + chunk)
                if lo < hi { box.value(lo..<hi) }
            }
        }
    }

    /// Number of workers to use when the caller asked for `requested` (0 = every core).
    static func resolve(_ requested: Int) -> Int {
        requested > 0 ? requested : max(1, ProcessorCount.online)
    }
}

/// Holds a value that is shared across worker threads by construction (each worker touches a
/// disjoint part of the buffers it reaches).
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Online CPU count without Foundation.
enum ProcessorCount {
    static var online: Int {
        #if canImport(Glibc)
        return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #else
        return 1
        #endif
    }
}

#if canImport(Glibc)
import Glibc
#endif
