import Dispatch
import Synchronization

/// Runs an ``HTTPFront`` beside synchronous code: `rest-shaper serve`, whose main thread runs the
/// ZeroMQ sidecar's loop. ``start(_:stopWhen:)`` returns once the front listens (or throws why it
/// cannot); ``stopAndWait()`` drains it and waits until every request in flight is answered.
public final class BackgroundHTTPFront: Sendable {
    public let front: HTTPFront
    private let boundPort = Atomic<Int>(-1)
    private let listening = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let failure = Mutex<(any Error)?>(nil)

    private init(front: HTTPFront) { self.front = front }

    /// The bound port.
    public var port: Int { boundPort.load(ordering: .relaxed) }

    /// Starts `front` on the Swift concurrency pool; blocks until it listens. `stopWhen` is polled
    /// every 50 ms and starts the drain when it turns true (e.g. a SIGTERM seen by the sidecar).
    public static func start(_ front: HTTPFront, stopWhen: (@Sendable () -> Bool)? = nil) throws -> BackgroundHTTPFront {
        let b = BackgroundHTTPFront(front: front)
        Task.detached {
            do {
                try await front.run(onListening: { p in b.boundPort.store(p, ordering: .relaxed); b.listening.signal() },
                                    stopWhen: stopWhen)
            } catch {
                b.failure.withLock { $0 = error }
            }
            b.listening.signal()  // a bind failure ends run() before it ever listened
            b.finished.signal()
        }
        b.listening.wait()
        if let error = b.failure.withLock({ $0 }) { throw HTTPFrontSetupError.bind("\(error)") }
        return b
    }

    /// Drains the front and waits for it to stop; rethrows what ended it abnormally.
    public func stopAndWait() throws {
        front.shutdown()
        finished.wait()
        finished.signal()  // a second call returns at once
        if let error = failure.withLock({ $0 }) { throw error }
    }
}
