import CZmq
import Capture
import Pipeline
import Wire
import WorkQueue
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a pool tells the I/O thread.
enum WorkerEvent {
    /// A job finished (also with an error reply): its outcome and reply frames.
    case finished(JobOutcome, ZmqFrames)
    /// The worker running this job died; the job has no reply.
    case died(key: UInt64, reason: String)
}

/// Where shape jobs run: threads of this process (``ThreadWorkerPool``) or supervised worker
/// processes (``ProcessWorkerPool``). Every method is called on the I/O thread only.
protocol WorkerPool: AnyObject {
    /// Sockets the I/O thread polls; when one is readable (or at least every poll timeout) it
    /// calls ``service(now:_:)``.
    var pollSockets: [UnsafeMutableRawPointer] { get }
    /// Starts the workers.
    func start() throws
    /// Takes a job; false when the pool cannot hold more (the caller answers `busy`).
    func submit(_ job: Job) -> Bool
    /// Reads finished work, supervises the workers, and hands every event to `deliver`.
    func service(now: UInt64, _ deliver: (WorkerEvent) -> Void)
    /// The job's reply is no longer wanted (timeout): stop it at its next row boundary. True when
    /// the job will never be reported (it had not reached a worker): its bytes are free now.
    func cancel(_ job: Job) -> Bool
    /// Jobs waiting for a worker.
    var queued: Int { get }
    /// Workers able to take jobs now.
    var live: Int { get }
    /// Stops the workers (the jobs they hold are abandoned) and waits for them.
    func shutdown()
}

/// Worker threads in this process calling one ``Shaper``: the fastest path, and the one the tests
/// use with fake shapers. A trap in the shaper ends the whole process (see ``ProcessWorkerPool``).
final class ThreadWorkerPool: WorkerPool, @unchecked Sendable {
    let runner: ShapeJobRunner
    let count: Int
    let context: UnsafeMutableRawPointer
    let capture: Bool
    private let queue: BoundedQueue<Job>
    private let pull: ZmqSocket
    private let endpoint: String
    private var threads: [pthread_t] = []

    init(runner: ShapeJobRunner, count: Int, capacity: Int, context: UnsafeMutableRawPointer, capture: Bool) throws {
        self.runner = runner; self.count = max(1, count); self.context = context; self.capture = capture
        queue = BoundedQueue(capacity: capacity)
        pull = try ZmqSocket(context: context, type: ZMQ_PULL)
        endpoint = "inproc://rest-shaper-replies-\(UInt(bitPattern: ObjectIdentifier(pull).hashValue))"
        pull.set(ZMQ_RCVHWM, 0)
        try pull.bind(endpoint)
    }

    var pollSockets: [UnsafeMutableRawPointer] { [pull.handle] }
    var queued: Int { queue.count }
    var live: Int { count }

    func start() throws {
        for i in 0..<count { threads.append(spawnThread { [self] in self.loop(index: i) }) }
    }

    func submit(_ job: Job) -> Bool { queue.tryPush(job) }

    /// A worker thread still reports a cancelled job (with no reply), so its bytes are freed then.
    func cancel(_ job: Job) -> Bool { job.cancellation.cancel(); return false }

    func service(now: UInt64, _ deliver: (WorkerEvent) -> Void) {
        for _ in 0..<256 {
            guard let m = pull.receive(flags: ZMQ_DONTWAIT) else { break }
            guard m.count >= 1, let outcome = JobOutcome(m.raw(0)) else { continue }
            _ = m.splitPrefix(1)
            deliver(.finished(outcome, m))
        }
    }

    func shutdown() {
        queue.close()
        for t in threads { pthread_join(t, nil) }
        threads = []
        pull.close()
    }

    private func loop(index: Int) {
        let push: ZmqSocket
        do {
            push = try ZmqSocket(context: context, type: ZMQ_PUSH)
            push.set(ZMQ_SNDHWM, 0)
            try push.connect(endpoint)
        } catch {
            return
        }
        while let job = queue.pop() {
            var (frames, outcome) = (([FrameBuffer](), JobOutcome(key: job.key, code: .timeout)))
            if !job.cancellation.isCancelled {
                (frames, outcome) = runner.run(key: job.key, header: job.header, frames: job.message.all,
                                               cancellation: job.cancellation, beforeShaping: {
                    if capture, let stateful = runner.shaper as? any CaptureStateProvider {
                        let snapshot = stateful.captureState()
                        job.engineState.withLock { $0 = snapshot }
                    }
                })
            }
            push.send([ZmqFrames.copying([outcome.encode()]), ZmqFrames.taking(frames)])
        }
        push.close(lingerMillis: -1)
    }
}
