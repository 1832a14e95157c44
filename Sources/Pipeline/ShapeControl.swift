import Shaping
import Synchronization

/// Raised when nobody wants a request's result any more (the sidecar answered `timeout`): the
/// engine checks it between rows and between entropy chunks and stops with
/// ``ShapeError/cancelled``, so a timed-out request does not keep a worker busy to the end.
public final class CancellationFlag: Sendable {
    private let raised = Atomic<Bool>(false)
    /// A flag not yet raised.
    public init() {}
    /// Raises the flag (thread-safe; idempotent).
    public func cancel() { raised.store(true, ordering: .relaxed) }
    /// Whether the flag has been raised.
    public var isCancelled: Bool { raised.load(ordering: .relaxed) }
}

/// Where the entropy curriculum's state lives (``EntropyScheduleState``): in this process
/// (``LocalEntropyCurriculum``, the default), or with a supervisor that several worker processes
/// share (the sidecar's process isolation), so that every batch advances one curriculum.
public protocol EntropyCurriculum: Sendable {
    /// Feeds one batch's mean entropy of the driving region (nil: the batch carries none, no
    /// update) and returns the progress p ∈ [0, 1] to use for that batch; one atomic step.
    func advance(observing mean: Double?, config: EntropyCurriculumConfig) throws -> Double
}

/// The entropy curriculum's state in this process, behind a mutex.
public final class LocalEntropyCurriculum: EntropyCurriculum {
    private let state: Mutex<EntropyScheduleState>

    /// A curriculum starting from `initial` (default: no observation yet).
    public init(_ initial: EntropyScheduleState = EntropyScheduleState()) { state = Mutex(initial) }

    /// Observes one batch and returns its progress (see ``EntropyCurriculum/advance(observing:config:)``).
    public func advance(observing mean: Double?, config: EntropyCurriculumConfig) -> Double {
        state.withLock { $0.observe(mean, config: config) }
    }

    /// The state now (saved in captures).
    public var current: EntropyScheduleState { state.withLock { $0 } }
    /// Replaces the state (a capture being replayed, a resumed run).
    public func restore(_ s: EntropyScheduleState) { state.withLock { $0 = s } }
    /// Back to the initial state.
    public func reset() { state.withLock { $0.reset() } }
}
