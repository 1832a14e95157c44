import Foundation
import Synchronization
import Wire
import WorkQueue

/// Bounds the HTTP front's work: at most `capacity` reward requests admitted (running or
/// waiting), at most `slots` of them running, each on one of `slots` worker threads of its own; a
/// request beyond the capacity is refused at once (`busy`, 503), so a burst costs memory for
/// `capacity` bodies at most. Waiters are served first come, first served (``BoundedQueue``).
///
/// The workers are dedicated threads, not Dispatch's global pool: on Linux that pool also runs
/// Swift concurrency's tasks, so scoring there could starve the tasks that serve the connections
/// (and answer `busy` or `/healthz`) for as long as a batch takes. Work small enough (a few rows,
/// tens of µs) runs inline on the caller's task instead, as the hop would cost more than the work.
package final class AdmissionGate: Sendable {
    package let slots: Int
    package let capacity: Int
    private let admittedCount = Mutex(0)
    private let queue: BoundedQueue<@Sendable () -> Void>

    package init(slots: Int, capacity: Int) {
        self.slots = max(1, slots)
        self.capacity = max(self.slots, capacity)
        queue = BoundedQueue(capacity: self.capacity)
    }

    /// Starts the worker threads (once; ``close()`` stops them).
    package func start() {
        for i in 0..<slots {
            let queue = self.queue
            let thread = Thread { while let job = queue.pop() { job() } }
            thread.name = "rest-shaper-http-\(i)"
            thread.start()
        }
    }

    /// Stops the worker threads once the work already queued is done.
    package func close() { queue.close() }

    /// Requests admitted right now (running or waiting).
    package var admitted: Int { admittedCount.withLock { $0 } }

    /// Runs `work` on a worker thread (or on the caller's, when `inline`); `busy` when the gate is full.
    package func run<T: Sendable>(inline: Bool = false, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        let full: Int? = admittedCount.withLock { n in
            guard n < capacity else { return n }
            n += 1
            return nil
        }
        if let full { throw HTTPFrontError(.busy, "\(full) reward requests admitted (--http-queue \(capacity)): retry later") }
        defer { admittedCount.withLock { $0 -= 1 } }
        if inline { return try work() }
        return try await withCheckedThrowingContinuation { continuation in
            // Never full here (at most `capacity` are admitted); closed only once the front has stopped.
            let queued = queue.tryPush { continuation.resume(with: Result { try work() }) }
            if !queued { continuation.resume(throwing: HTTPFrontError(.busy, "the HTTP front is shutting down")) }
        }
    }
}
