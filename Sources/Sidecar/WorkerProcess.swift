import CZmq
import Foundation
import Logging
import Pipeline
import Shaping
import Synchronization
import Wire
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The worker side of ``ProcessWorkerPool``: `rest-shaper serve … --worker-connect E` runs this
/// instead of a server. It connects a DEALER to the supervisor, says hello, then shapes one job
/// at a time until the supervisor closes its cancel pipe (fd 3), and exits.
public enum ShapingWorkerProcess {
    /// The job the worker is running, and its cancellation flag (set by the pipe watcher).
    private static let current = Mutex<(key: UInt64, flag: CancellationFlag)?>(nil)

    /// Serves jobs from `endpoint`. `makeShaper` builds the engine with the curriculum this worker
    /// must use (the supervisor's, through ``RemoteEntropyCurriculum``). Returns when the
    /// supervisor goes away.
    public static func run(endpoint: String, index: Int, limits: WireLimits, defaults: ShapeOptions, digests: Bool,
                           logger: Logger, makeShaper: (any EntropyCurriculum) throws -> any Shaper) throws {
        // The supervisor decides when a worker stops (after draining): ignore the terminal's signals.
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
        guard let ctx = zmq_ctx_new() else { throw SidecarError.zmq("zmq_ctx_new failed") }
        defer { zmq_ctx_term(ctx) }
        let socket = try ZmqSocket(context: ctx, type: ZMQ_DEALER)
        socket.set(ZMQ_LINGER, 2000)
        socket.set(ZMQ_SNDHWM, 0)
        socket.set(ZMQ_RCVHWM, 0)
        try socket.connect(endpoint)
        let link = SupervisorLink(socket: socket)
        let shaper = try makeShaper(RemoteEntropyCurriculum(link: link))
        let runner = ShapeJobRunner(shaper: shaper, limits: limits, defaults: defaults, digests: digests)
        watchCancelPipe(fd: 3)
        var hello: [UInt8] = []
        withUnsafeBytes(of: UInt32(index).littleEndian) { hello += $0 }
        withUnsafeBytes(of: UInt32(bitPattern: getpid()).littleEndian) { hello += $0 }
        socket.send([ZmqFrames.copying([[WorkerMessage.hello], hello])])
        logger.debug("worker connected", metadata: ["index": "\(index)", "pid": "\(getpid())"])
        while true {
            guard let m = socket.receive() else { continue } // EINTR
            guard m.count >= 3, m.raw(0).first == WorkerMessage.job, m.raw(1).count == 8 else { continue }
            let key = UInt64(littleEndian: m.raw(1).loadUnaligned(as: UInt64.self))
            _ = m.splitPrefix(2) // what remains is the request, header first
            let flag = CancellationFlag()
            current.withLock { $0 = (key, flag) }
            link.key = key
            let result: ([FrameBuffer], JobOutcome)
            do {
                let header = try RequestHeader.decode(m.raw(0), frameCount: m.count)
                result = runner.run(key: key, header: header, frames: m.all, cancellation: flag)
            } catch {
                // The server decoded this header before; only a damaged transfer lands here.
                let e = error as? WireError ?? WireError(.badHeader, "\(error)")
                let id = m.count > 0 ? RequestHeader.peek(m.raw(0)).id : nil
                result = ([FrameBuffer(bytes: ReplyHeader(op: "shape", id: id, error: e).encode())], JobOutcome(key: key, code: e.code))
            }
            current.withLock { $0 = nil }
            socket.send([ZmqFrames.copying([[WorkerMessage.result], result.1.encode()]), ZmqFrames.taking(result.0)])
        }
    }

    /// A thread reading 8-byte job keys from the cancel pipe: the current job's flag is raised when
    /// its key arrives; end of file (the supervisor closed it or died) ends the process.
    private static func watchCancelPipe(fd: Int32) {
        _ = spawnThread {
            var key: UInt64 = 0
            while true {
                let n = withUnsafeMutableBytes(of: &key) { read(fd, $0.baseAddress, 8) }
                if n == 8 {
                    let k = UInt64(littleEndian: key)
                    current.withLock { c in if let c, c.key == k { c.flag.cancel() } }
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    _exit(0) // the supervisor is gone or wants this worker to stop
                }
            }
        }
    }
}

/// The worker's socket to its supervisor, shared by the job loop and the curriculum queries
/// (both on the worker's one job thread).
final class SupervisorLink: @unchecked Sendable {
    let socket: ZmqSocket
    var key: UInt64 = 0
    init(socket: ZmqSocket) { self.socket = socket }
}

/// The supervisor's entropy curriculum, queried once per batch (the worker's job thread blocks
/// for the answer, which the supervisor gives from its I/O loop).
struct RemoteEntropyCurriculum: EntropyCurriculum {
    let link: SupervisorLink
    /// How long to wait for the supervisor before failing the batch.
    static let timeoutMillis = 30_000

    func advance(observing mean: Double?, config: EntropyCurriculumConfig) throws -> Double {
        let configJSON = [UInt8](try JSONEncoder().encode(config))
        var key = link.key.littleEndian
        var bits = (mean ?? .nan).bitPattern.littleEndian
        link.socket.send([ZmqFrames.copying([[WorkerMessage.curriculum], withUnsafeBytes(of: &key) { Array($0) },
                                             withUnsafeBytes(of: &bits) { Array($0) }, configJSON])])
        var item = zmq_pollitem_t(socket: link.socket.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)
        guard zmq_poll(&item, 1, Self.timeoutMillis) > 0, let m = link.socket.receive() else {
            throw WireError(.internal, "no answer from the supervisor's entropy curriculum")
        }
        guard m.count == 2, m.raw(0).first == WorkerMessage.curriculum, m.raw(1).count == 8 else {
            throw WireError(.internal, m.count == 2 ? String(decoding: m.raw(1), as: UTF8.self) : "malformed curriculum answer")
        }
        return Double(bitPattern: UInt64(littleEndian: m.raw(1).loadUnaligned(as: UInt64.self)))
    }
}
