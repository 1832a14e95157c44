import CZmq
import Foundation
import Logging
import Pipeline
import Shaping
import Wire
import WorkQueue
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How to start one worker process: the executable and its arguments; the pool appends
/// `--worker-connect ENDPOINT --worker-index I`. `rest-shaper serve` passes its own executable
/// and command line, so a worker is configured exactly like its server.
public struct WorkerLaunch: Sendable {
    public var executable: String
    public var arguments: [String]
    public init(executable: String, arguments: [String]) { self.executable = executable; self.arguments = arguments }

    /// This process's executable (Linux: `/proc/self/exe`, which stays valid even if the file is replaced).
    public static var currentExecutable: String {
        #if os(Linux)
        return "/proc/self/exe"
        #else
        return CommandLine.arguments.first ?? "rest-shaper"
        #endif
    }
}

/// Message kinds between the supervisor (this pool) and a worker process: the first frame of
/// every message on the worker socket.
enum WorkerMessage {
    /// worker → supervisor: [H, index u32, pid u32] — ready for jobs.
    static let hello: UInt8 = 0x48
    /// supervisor → worker: [J, key u64, request frames…]; worker → supervisor: [R, outcome, reply frames…].
    static let job: UInt8 = 0x4A
    static let result: UInt8 = 0x52
    /// worker → supervisor: [C, key u64, mean f64 bits (NaN: none), config JSON]; supervisor → worker: [C, progress f64 bits] or [E, message].
    static let curriculum: UInt8 = 0x43
    static let error: UInt8 = 0x45
}

/// Shape jobs in supervised worker processes (`serve --isolation process`, the default).
///
/// A worker is this executable in worker mode, connected to a private ROUTER socket (an ipc path
/// in a 0700 directory, so only this user's processes can reach it). Each worker holds at most
/// one job. When a worker dies (a trap, a signal, the kernel's OOM killer) the pool reports its
/// job as died (the server answers `internal`), counts it and starts a new worker, so a fault in
/// the shaping core costs one request, never the server. A timed-out job is cancelled through
/// the worker's cancel pipe (the engine stops at its next row); a worker that has not stopped
/// `killGraceMillis` later is killed and replaced. The entropy curriculum lives here, in one
/// ``LocalEntropyCurriculum`` that workers query per batch (``WorkerMessage/curriculum``), so all
/// workers advance one curriculum as threads sharing one engine did.
final class ProcessWorkerPool: WorkerPool {
    private struct Worker {
        var pid: pid_t = 0
        /// Write end of the worker's cancel pipe (its fd 3); closing it tells the worker to exit.
        var cancelFD: Int32 = -1
        var identity: [UInt8]? = nil
        var job: Job? = nil
        var cancelledAt: UInt64? = nil
        var killed = false
        var spawnedAt: UInt64 = 0
        /// Consecutive deaths before saying hello (a worker that cannot start): spawns back off.
        var failedStarts = 0
        var nextSpawn: UInt64 = 0
    }

    let launch: WorkerLaunch
    let count: Int
    let curriculum: LocalEntropyCurriculum
    let capture: Bool
    let killGraceNanos: UInt64
    let logger: Logger
    let metrics: ServerMetrics
    private let socket: ZmqSocket
    private let directory: String
    private let endpoint: String
    private var workers: [Worker]
    private let pending: BoundedQueue<Job>

    init(launch: WorkerLaunch, count: Int, capacity: Int, context: UnsafeMutableRawPointer, curriculum: LocalEntropyCurriculum,
         capture: Bool, killGraceMillis: Int, logger: Logger, metrics: ServerMetrics) throws {
        self.launch = launch; self.count = max(1, count); self.curriculum = curriculum; self.capture = capture
        self.killGraceNanos = UInt64(max(0, killGraceMillis)) * 1_000_000; self.logger = logger; self.metrics = metrics
        pending = BoundedQueue(capacity: capacity)
        workers = Array(repeating: Worker(), count: max(1, count))
        var template = Array("/tmp/rest-shaper-workers-XXXXXX".utf8CString)
        guard let dir = template.withUnsafeMutableBufferPointer({ b in b.baseAddress.flatMap { mkdtemp($0) } }) else {
            throw SidecarError.zmq("cannot create a private directory for the worker socket: \(String(cString: strerror(errno)))")
        }
        directory = String(cString: dir)
        endpoint = "ipc://\(directory)/workers.sock"
        socket = try ZmqSocket(context: context, type: ZMQ_ROUTER)
        socket.set(ZMQ_ROUTER_MANDATORY, 1)
        socket.set(ZMQ_SNDHWM, 0)
        socket.set(ZMQ_RCVHWM, 0)
        socket.set(ZMQ_LINGER, 0)
        try socket.bind(endpoint)
    }

    var pollSockets: [UnsafeMutableRawPointer] { [socket.handle] }
    var queued: Int { pending.count }
    var live: Int { workers.filter { $0.identity != nil }.count }
    /// Ids of the worker processes started (ready or not).
    var processIDs: [Int32] { workers.map(\.pid).filter { $0 > 0 } }

    func start() throws {
        let now = monotonicNanos()
        for i in workers.indices { try spawn(i, now: now) }
    }

    func submit(_ job: Job) -> Bool {
        guard pending.tryPush(job) else { return false }
        dispatch()
        return true
    }

    func cancel(_ job: Job) -> Bool {
        job.cancellation.cancel()
        guard let i = workers.firstIndex(where: { $0.job === job }) else { return true } // still queued: dropped at dispatch
        workers[i].cancelledAt = monotonicNanos()
        var key = job.key.littleEndian
        _ = withUnsafeBytes(of: &key) { write(workers[i].cancelFD, $0.baseAddress, 8) } // non-blocking; the worker also gets killed later
        return false
    }

    func service(now: UInt64, _ deliver: (WorkerEvent) -> Void) {
        for _ in 0..<256 {
            guard let m = socket.receive(flags: ZMQ_DONTWAIT) else { break }
            receive(m, deliver)
        }
        reap(now: now, deliver)
        for i in workers.indices {
            if let at = workers[i].cancelledAt, !workers[i].killed, now - at > killGraceNanos, workers[i].pid > 0 {
                logger.warning("a timed-out worker did not stop; killing it", metadata: ["pid": "\(workers[i].pid)"])
                kill(workers[i].pid, SIGKILL)
                workers[i].killed = true
                metrics.workerKilled()
            }
            if workers[i].pid == 0, now >= workers[i].nextSpawn {
                do { try spawn(i, now: now) } catch { logger.error("cannot start a worker: \(error)") ; workers[i].nextSpawn = now + 5_000_000_000 }
            }
        }
        dispatch()
    }

    func shutdown() {
        for i in workers.indices where workers[i].cancelFD >= 0 { close(workers[i].cancelFD); workers[i].cancelFD = -1 }
        let deadline = monotonicNanos() + 3_000_000_000
        for i in workers.indices where workers[i].pid > 0 {
            var status: Int32 = 0
            while waitpid(workers[i].pid, &status, WNOHANG) == 0 {
                if monotonicNanos() > deadline { kill(workers[i].pid, SIGKILL); waitpid(workers[i].pid, &status, 0); break }
                usleep(10_000)
            }
            workers[i].pid = 0
        }
        pending.close()
        socket.close()
        unlink("\(directory)/workers.sock")
        rmdir(directory)
    }

    // MARK: -

    private func spawn(_ i: Int, now: UInt64) throws {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw SidecarError.zmq("pipe: \(String(cString: strerror(errno)))") }
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC) // dup2 into fd 3 below clears it for the child only
        defer { close(fds[0]) }
        #if os(Linux)
        var actions = posix_spawn_file_actions_t()
        var attr = posix_spawnattr_t()
        #else
        var actions: posix_spawn_file_actions_t? = nil
        var attr: posix_spawnattr_t? = nil
        #endif
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[0], 3)
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        // Its own process group: a terminal's Ctrl-C reaches the server, which drains and then
        // stops the workers, instead of killing the workers under their in-flight jobs.
        // A clean signal state too: the spawning thread may block signals (a test harness's threads
        // do), and a blocked SIGILL/SIGSEGV would leave a crashed worker hanging instead of dead.
        var noSignals = sigset_t(), defaults = sigset_t()
        sigemptyset(&noSignals)
        sigemptyset(&defaults)
        for s in [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGFPE, SIGABRT, SIGTERM, SIGINT, SIGPIPE, SIGUSR1, SIGUSR2] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigmask(&attr, &noSignals)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attr, 0)
        let args = [launch.executable] + launch.arguments + ["--worker-connect", endpoint, "--worker-index", "\(i)"]
        var cargs = args.map { strdup($0) } + [nil]
        defer { for p in cargs { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, launch.executable, &actions, &attr, &cargs, environ)
        guard rc == 0 else {
            close(fds[1])
            throw SidecarError.zmq("cannot start worker \(launch.executable): \(String(cString: strerror(rc)))")
        }
        workers[i] = Worker(pid: pid, cancelFD: fds[1], identity: nil, job: nil, cancelledAt: nil, killed: false,
                            spawnedAt: now, failedStarts: workers[i].failedStarts, nextSpawn: 0)
        logger.debug("worker started", metadata: ["index": "\(i)", "pid": "\(pid)"])
    }

    private func receive(_ m: ZmqFrames, _ deliver: (WorkerEvent) -> Void) {
        guard m.count >= 2 else { return }
        let identity = Array(m.raw(0))
        let kind = m.raw(1).first
        switch kind {
        case WorkerMessage.hello:
            let p = m.count >= 3 ? m.raw(2) : UnsafeRawBufferPointer(start: nil, count: 0)
            guard p.count == 8 else { return }
            let index = Int(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 0, as: UInt32.self)))
            let pid = pid_t(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
            guard workers.indices.contains(index), workers[index].pid == pid else { return }
            workers[index].identity = identity
            workers[index].failedStarts = 0
            logger.debug("worker ready", metadata: ["index": "\(index)", "pid": "\(pid)"])
        case WorkerMessage.result:
            guard let i = workers.firstIndex(where: { $0.identity == identity }), m.count >= 3,
                  let outcome = JobOutcome(m.raw(2)), let job = workers[i].job, job.key == outcome.key else { return }
            workers[i].job = nil
            workers[i].cancelledAt = nil
            _ = m.splitPrefix(3)
            deliver(.finished(outcome, m))
        case WorkerMessage.curriculum:
            guard let i = workers.firstIndex(where: { $0.identity == identity }) else { return }
            answerCurriculum(m, worker: i)
        default:
            return
        }
    }

    /// [C, key, mean bits, config JSON] → [C, progress bits]; the state before the update goes to
    /// the job's capture record.
    private func answerCurriculum(_ m: ZmqFrames, worker i: Int) {
        func reply(_ frames: [[UInt8]]) { socket.send([ZmqFrames.copying([workers[i].identity ?? []] + frames)]) }
        guard m.count == 5, m.raw(2).count == 8, m.raw(3).count == 8 else {
            return reply([[WorkerMessage.error], Array("malformed curriculum request".utf8)])
        }
        let meanBits = UInt64(littleEndian: m.raw(3).loadUnaligned(as: UInt64.self))
        let mean = Double(bitPattern: meanBits)
        do {
            let config = try JSONDecoder().decode(EntropyCurriculumConfig.self, from: Data(m.raw(4)))
            if capture, let job = workers[i].job {
                let snapshot = (try? [UInt8](JSONEncoder().encode(curriculum.current))) ?? []
                job.engineState.withLock { $0 = snapshot }
            }
            let p = curriculum.advance(observing: mean.isNaN ? nil : mean, config: config)
            reply([[WorkerMessage.curriculum], withUnsafeBytes(of: p.bitPattern.littleEndian) { Array($0) }])
        } catch {
            reply([[WorkerMessage.error], Array("curriculum: \(error)".utf8)])
        }
    }

    private func dispatch() {
        for i in workers.indices where workers[i].identity != nil && workers[i].job == nil {
            var next: Job? = nil
            while let j = pending.tryPop() {
                if j.cancellation.isCancelled { continue } // timed out while queued: its reply is already sent
                next = j; break
            }
            guard let job = next else { return }
            if capture {
                let snapshot = (try? [UInt8](JSONEncoder().encode(curriculum.current))) ?? []
                job.engineState.withLock { $0 = snapshot }
            }
            var key = job.key.littleEndian
            let head = ZmqFrames.copying([workers[i].identity ?? [], [WorkerMessage.job], withUnsafeBytes(of: &key) { Array($0) }])
            workers[i].job = job
            if !socket.send([head, job.message.shared()]) {
                // The worker is gone (ROUTER_MANDATORY): reap() will see it; the job dies with it.
                logger.debug("cannot send a job to worker \(i)")
            }
        }
    }

    /// Waits for exited workers (non-blocking); a busy one's job is reported died.
    private func reap(now: UInt64, _ deliver: (WorkerEvent) -> Void) {
        for i in workers.indices where workers[i].pid > 0 {
            var status: Int32 = 0
            let r = waitpid(workers[i].pid, &status, WNOHANG)
            guard r == workers[i].pid else { continue }
            let w = workers[i]
            let reason = Self.describe(status)
            if w.cancelFD >= 0 { close(w.cancelFD) }
            let startedOK = w.identity != nil
            workers[i] = Worker()
            workers[i].failedStarts = startedOK ? 0 : w.failedStarts + 1
            // A worker that cannot even start (bad arguments, missing tokenizer) must not spin: back off.
            let backoff = startedOK ? 0 : min(UInt64(1) << UInt64(min(w.failedStarts, 5)), 30) * 500_000_000
            workers[i].nextSpawn = now + backoff
            if w.killed {
                logger.notice("killed a worker that overran a timed-out request", metadata: ["pid": "\(w.pid)"])
            } else {
                metrics.workerCrashed()
                logger.error("worker crashed", metadata: ["pid": "\(w.pid)", "status": "\(reason)",
                                                          "request_id": "\(w.job.map { "\($0.header.id)" } ?? "none")"])
            }
            metrics.workerRestarted()
            if let job = w.job { deliver(.died(key: job.key, reason: "the worker process shaping this request \(reason)")) }
        }
    }

    static func describe(_ status: Int32) -> String {
        let sig = status & 0x7f
        if sig == 0 { return "exited with status \((status >> 8) & 0xff)" }
        return "was killed by signal \(sig) (\(String(cString: strsignal(sig))))"
    }
}
