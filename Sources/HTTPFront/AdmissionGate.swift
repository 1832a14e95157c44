import Dispatch
import Synchronization
import Wire

/// Bounds the HTTP front's work: at most `capacity` reward requests admitted (running or
/// waiting), at most `slots` of them running; a request beyond the capacity is refused at once
/// (`busy`, 503), so a burst costs memory for `capacity` bodies at most. Waiters are served first
/// come, first served. The scoring itself runs on a Dispatch thread (``run(_:)``), never on the
/// Swift concurrency pool that serves the connections.
final class AdmissionGate: Sendable {
    let slots: Int
    let capacity: Int

    private struct State {
        var running = 0
        var admitted = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
        var head = 0
    }
    private let state = Mutex(State())

    init(slots: Int, capacity: Int) {
        self.slots = max(1, slots)
        self.capacity = max(self.slots, capacity)
    }

    /// Requests admitted right now (running or waiting).
    var admitted: Int { state.withLock { $0.admitted } }

    /// Runs `work` on a worker thread once a slot is free; `busy` when the gate is full.
    func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try enter()
        await waitForSlot()
        defer { leave() }
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(with: Result { try work() })
            }
        }
    }

    private func enter() throws(HTTPFrontError) {
        let full: Int? = state.withLock { s in
            guard s.admitted < capacity else { return s.admitted }
            s.admitted += 1
            return nil
        }
        if let full { throw HTTPFrontError(.busy, "\(full) reward requests admitted (--http-queue \(capacity)): retry later") }
    }

    private func waitForSlot() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now: Bool = state.withLock { s in
                if s.running < slots { s.running += 1; return true }
                s.waiters.append(c)
                return false
            }
            if now { c.resume() }
        }
    }

    /// Frees this request's slot: hands it to the oldest waiter, if any.
    private func leave() {
        let next: CheckedContinuation<Void, Never>? = state.withLock { s in
            s.admitted -= 1
            guard s.head < s.waiters.count else { s.running -= 1; return nil }
            let c = s.waiters[s.head]
            s.head += 1
            if s.head >= 64 && s.head * 2 >= s.waiters.count {  // drop the served prefix now and then
                s.waiters.removeFirst(s.head); s.head = 0
            }
            return c  // the slot passes to the waiter: `running` is unchanged
        }
        next?.resume()
    }
}
