import CZmq
import Capture
import Logging
import Pipeline
import Synchronization
import Wire
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Set by SIGINT/SIGTERM (see ``SidecarServer/installSignalHandlers()``); every server drains when it is set.
let sidecarStopSignal = Atomic<Int>(0)

/// A shape request waiting for or running on a worker.
final class Job: @unchecked Sendable {
    let key: UInt64
    let header: RequestHeader
    /// Request frames (header first), kept alive until the reply is captured.
    let message: ZmqFrames
    let cancelled = Atomic<Bool>(false)
    /// The shaper's state just before this job ran (captured with the record).
    let engineState = Mutex<[UInt8]?>(nil)
    /// The digest of the weights in the reply, registered for acknowledgement when it is sent.
    let sentWeights = Mutex<WeightDigest?>(nil)

    init(key: UInt64, header: RequestHeader, message: ZmqFrames) {
        self.key = key; self.header = header; self.message = message
    }
}

/// The ZeroMQ sidecar: one ROUTER socket served by an I/O thread (the caller of ``run()``), a
/// pool of worker threads calling the ``Shaper``, and an optional capture writer thread.
///
/// The I/O thread owns the ROUTER: it decodes headers, answers `ping`/`stats` and errors itself,
/// queues `shape` jobs, and forwards the workers' replies (sent over an inproc PUSH/PULL pair,
/// so no socket is shared between threads). Requests are received into `zmq_msg_t`s that the
/// workers read in place; replies are handed to ZeroMQ with `zmq_msg_init_data` (no copy).
public final class SidecarServer: @unchecked Sendable {
    public let config: SidecarConfig
    let shaper: any Shaper
    let logger: Logger
    let context: UnsafeMutableRawPointer
    let router: ZmqSocket
    let pull: ZmqSocket
    let pullEndpoint: String
    let queue = JobQueue<Job>()
    /// The counters behind `stats` (the HTTP front in the same process adds its own to them).
    public let metrics = ServerMetrics()
    let capture: CaptureWriter?
    /// Shape replies awaiting the trainer's `applied` report (nil: not tracked).
    let acks: AckRegistry?
    private var unackedSinceWarning = 0
    private var lastAckWarning: UInt64?
    let stopRequested = Atomic<Bool>(false)
    /// `inflight.count`, published by the I/O thread for readers on other threads (``prometheusText()``).
    private let inflightGauge = Atomic<Int>(0)
    /// The bound endpoint (with the real port when binding tcp port `*`).
    public let endpoint: String

    private struct InFlight { let job: Job; let envelope: ZmqFrames; let received: UInt64; let deadline: UInt64; let omit: Set<Int> }
    private var inflight: [UInt64: InFlight] = [:]
    private var nextKey: UInt64 = 1
    private var workerThreads: [pthread_t] = []

    /// Validates the endpoint policy, binds, and opens the capture file; serving starts with ``run()``.
    public init(config: SidecarConfig, shaper: any Shaper, logger: Logger = Logger(label: "rest-shaper.sidecar")) throws {
        try EndpointPolicy.check(config)
        self.config = config
        self.shaper = shaper
        self.logger = logger
        acks = config.ackWindowSeconds > 0 ? AckRegistry(windowSeconds: config.ackWindowSeconds, capacity: config.ackCapacity) : nil
        guard let ctx = zmq_ctx_new() else { throw SidecarError.zmq("zmq_ctx_new failed") }
        context = ctx
        do {
            router = try ZmqSocket(context: ctx, type: ZMQ_ROUTER)
            router.set(ZMQ_SNDBUF, config.socketBufferBytes)
            router.set(ZMQ_RCVBUF, config.socketBufferBytes)
            router.set(ZMQ_LINGER, 0)
            if let key = config.curveSecretKey {
                guard key.utf8.count == 40 else { throw SidecarError.badCurveKey }
                guard zmq_has("curve") != 0 else { throw SidecarError.curveUnavailable }
                router.set(ZMQ_CURVE_SERVER, 1)
                try router.set(ZMQ_CURVE_SECRETKEY, string: key)
            }
            try router.bind(config.bind)
            endpoint = router.lastEndpoint
            pull = try ZmqSocket(context: ctx, type: ZMQ_PULL)
            pullEndpoint = "inproc://rest-shaper-replies-\(UInt(bitPattern: ObjectIdentifier(router).hashValue))"
            pull.set(ZMQ_RCVHWM, 0)
            try pull.bind(pullEndpoint)
            capture = try config.captureDirectory.map { try CaptureWriter(directory: $0) }
        } catch let e as ZmqError {
            zmq_ctx_term(ctx)
            throw SidecarError.zmq(e.description)
        }
    }

    /// SIGINT and SIGTERM start a graceful drain of every running server.
    public static func installSignalHandlers() {
        signal(SIGINT) { _ in sidecarStopSignal.store(1, ordering: .relaxed) }
        signal(SIGTERM) { _ in sidecarStopSignal.store(1, ordering: .relaxed) }
        signal(SIGPIPE, SIG_IGN)
    }

    /// Starts a graceful drain (thread-safe): in-flight requests finish and are answered, new
    /// shape requests get `busy`, then ``run()`` returns.
    public func requestStop() { stopRequested.store(true, ordering: .relaxed) }

    /// Whether SIGINT/SIGTERM has arrived (the HTTP front in the same process drains on it too).
    public static var stopSignalReceived: Bool { sidecarStopSignal.load(ordering: .relaxed) != 0 }

    /// The `stats` counters as Prometheus text (thread-safe; the HTTP front's `/metrics`).
    public func prometheusText() -> String {
        metrics.prometheus(inFlight: inflightGauge.load(ordering: .relaxed), queueDepth: queue.depth, workers: config.workers)
    }

    /// Path of the capture file, when capturing.
    public var capturePath: String? { capture?.path }

    /// Serves until a stop is requested, then drains and shuts down. Blocks the calling thread.
    public func run() throws {
        for i in 0..<max(1, config.workers) {
            workerThreads.append(spawnThread { [self] in self.workerLoop(index: i) })
        }
        logger.info("rest-shaper sidecar listening", metadata: [
            "endpoint": "\(endpoint)", "workers": "\(config.workers)",
            "capture": "\(capture?.path ?? "off")", "curve": "\(config.curveSecretKey != nil)"])

        var items = [zmq_pollitem_t(socket: router.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0),
                     zmq_pollitem_t(socket: pull.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)]
        var draining = false
        var lastMetrics: UInt64 = 0
        while true {
            if !draining && (stopRequested.load(ordering: .relaxed) || sidecarStopSignal.load(ordering: .relaxed) != 0) {
                draining = true
                logger.info("draining", metadata: ["in_flight": "\(inflight.count)"])
            }
            if draining && inflight.isEmpty { break }
            inflightGauge.store(inflight.count, ordering: .relaxed)
            let rc = zmq_poll(&items, 2, pollTimeoutMillis())
            if rc < 0 {
                if zmq_errno() == EINTR { continue }
                throw SidecarError.zmq(ZmqError.last("zmq_poll").description)
            }
            if items[1].revents & Int16(ZMQ_POLLIN) != 0 {
                for _ in 0..<256 { guard let m = pull.receive(flags: ZMQ_DONTWAIT) else { break }; forward(m) }
            }
            if items[0].revents & Int16(ZMQ_POLLIN) != 0 {
                for _ in 0..<64 { guard let m = router.receive(flags: ZMQ_DONTWAIT) else { break }; handle(m, draining: draining) }
            }
            expireDeadlines()
            let now = monotonicNanos()
            expireAcknowledgements(now)
            if config.metricsFile != nil, now - lastMetrics > 1_000_000_000 { writeMetricsFile(); lastMetrics = now }
        }
        shutdown()
    }

    private func pollTimeoutMillis() -> Int {
        var t = 100
        if config.limits.timeoutMillis > 0, let next = inflight.values.map(\.deadline).min() {
            let now = monotonicNanos()
            t = min(t, next > now ? Int((next - now) / 1_000_000) + 1 : 0)
        }
        return t
    }

    private func shutdown() {
        queue.close()
        for t in workerThreads { pthread_join(t, nil) }
        pull.close()
        router.close(lingerMillis: 2000)
        if let capture {
            do { try capture.close() } catch { logger.error("capture: \(error)") }
        }
        writeMetricsFile()
        zmq_ctx_term(context)
        logger.info("rest-shaper sidecar stopped", metadata: ["capture_records": "\(capture?.recordsWritten ?? 0)"])
    }

    // MARK: I/O thread

    private func handle(_ msg: ZmqFrames, draining: Bool) {
        guard msg.count >= 2 else { return } // a ROUTER message always starts with the peer identity
        let envelopeCount = (msg.count > 2 && zmq_msg_size(msg.msgs[1]) == 0) ? 2 : 1
        let envelope = msg.splitPrefix(envelopeCount)
        let received = monotonicNanos()
        guard msg.count >= 1 else {
            metrics.request("unknown", bytes: 0)
            return replyError(envelope, request: msg, op: "unknown", id: nil, WireError(.badHeader, "no header frame"), received: received)
        }
        let bytes = msg.totalBytes
        if bytes > config.limits.maxMessageBytes {
            let p: (op: String?, id: Int?) = msg.raw(0).count <= 1 << 20 ? RequestHeader.peek(msg.raw(0)) : (nil, nil)
            metrics.request(p.op ?? "unknown", bytes: bytes)
            return replyError(envelope, request: msg, op: p.op ?? "unknown", id: p.id,
                              WireError(.limit, "message of \(bytes) bytes exceeds max_message_bytes \(config.limits.maxMessageBytes)"),
                              received: received, omit: Set(1..<msg.count))
        }
        let header: RequestHeader
        do {
            header = try RequestHeader.decode(msg.raw(0), frameCount: msg.count)
        } catch {
            let p = RequestHeader.peek(msg.raw(0))
            metrics.request(p.op ?? "unknown", bytes: bytes)
            let e = error as? WireError ?? WireError(.badHeader, "\(error)")
            return replyError(envelope, request: msg, op: p.op ?? "unknown", id: p.id, e, received: received)
        }
        metrics.request(header.op.rawValue, bytes: bytes)
        switch header.op {
        case .ping:
            var h = ReplyHeader(op: "ping", id: header.id)
            h.server = ServerInfo(version: config.serverVersion, protocols: [RequestHeader.protocolVersion],
                                  dtypes: RequestTensors.named, limits: config.limits.named, vocab: config.limits.vocabSize)
            replyDirect(envelope, request: msg, header: h, received: received)
        case .stats:
            var h = ReplyHeader(op: "stats", id: header.id)
            h.metrics = metrics.recentBatches()
            h.stats = metrics.counters(inFlight: inflight.count, queueDepth: queue.depth, workers: config.workers)
            h.prometheus = metrics.prometheus(inFlight: inflight.count, queueDepth: queue.depth, workers: config.workers)
            replyDirect(envelope, request: msg, header: h, received: received)
        case .applied:
            var h = ReplyHeader(op: "applied", id: header.id)
            if let report = header.applied, let acks {
                let verdict = acks.acknowledge(report)
                metrics.applied(verdict.result)
                if verdict.result == .mismatch { logger.warning("trainer applied different weights", metadata: ["detail": "\(verdict.message)"]) }
                h.applied = verdict
            } else {
                h.applied = AppliedVerdict(.unknown, "this server does not track acknowledgements (--ack-window-s 0)")
                metrics.applied(.unknown)
            }
            replyDirect(envelope, request: msg, header: h, received: received)
        case .shape:
            if draining {
                return replyError(envelope, request: msg, op: "shape", id: header.id, WireError(.busy, "server is shutting down"), received: received)
            }
            if inflight.count >= config.queueCapacity {
                return replyError(envelope, request: msg, op: "shape", id: header.id,
                                  WireError(.busy, "\(inflight.count) requests in flight (queue capacity \(config.queueCapacity))"), received: received)
            }
            let key = nextKey; nextKey += 1
            let job = Job(key: key, header: header, message: msg)
            let timeout = UInt64(max(config.limits.timeoutMillis, 0)) * 1_000_000
            inflight[key] = InFlight(job: job, envelope: envelope, received: received,
                                     deadline: timeout > 0 ? received + timeout : .max, omit: omittedFrames(header))
            queue.push(job)
        }
    }

    /// Request frames left out of the capture: full / top-k logits unless `captureLogits`.
    private func omittedFrames(_ h: RequestHeader) -> Set<Int> {
        guard capture != nil, !config.captureLogits else { return [] }
        return Set(h.tensors.filter { ["logits", "topk_logits", "logsumexp"].contains($0.name) }.flatMap(\.frames))
    }

    private func replyDirect(_ envelope: ZmqFrames, request: ZmqFrames, header: ReplyHeader, received: UInt64, omit: Set<Int> = []) {
        let bytes = header.encode()
        router.send([envelope, ZmqFrames.copying([bytes])])
        capture?.append(request: request, reply: OwnedFrames([bytes]), omit: omit)
        metrics.reply(error: header.error?.code, bytes: bytes.count, latencyNanos: nil)
        if let e = header.error { logger.debug("error reply", metadata: ["code": "\(e.code.rawValue)", "message": "\(e.message)"]) }
    }

    private func replyError(_ envelope: ZmqFrames, request: ZmqFrames, op: String, id: Int?, _ error: WireError,
                            received: UInt64, omit: Set<Int> = []) {
        replyDirect(envelope, request: request, header: ReplyHeader(op: op, id: id, error: error), received: received, omit: omit)
    }

    /// A worker's reply: [key (8 bytes) + status (1 byte), reply frames…].
    private func forward(_ msg: ZmqFrames) {
        guard msg.count >= 2 else { return }
        let tag = msg.raw(0)
        guard tag.count == 9 else { return }
        let key = tag.loadUnaligned(as: UInt64.self)
        let status = tag[8]
        _ = msg.splitPrefix(1)
        guard let entry = inflight.removeValue(forKey: key) else { return } // timed out earlier
        if let capture {
            capture.append(request: entry.job.message, reply: msg.shared(), omit: entry.omit,
                           engineState: entry.job.engineState.withLock { $0 })
        }
        let bytes = msg.totalBytes
        router.send([entry.envelope, msg])
        let code: WireErrorCode? = status == 255 ? nil : WireErrorCode.allCases[Int(status)]
        let now = monotonicNanos()
        metrics.reply(error: code, bytes: bytes, latencyNanos: now - entry.received)
        if code == nil, let acks, let digest = entry.job.sentWeights.withLock({ $0 }) {
            noteUnacknowledged(acks.register(id: entry.job.header.id, digest: digest, now: now), now: now)
        }
    }

    private func expireAcknowledgements(_ now: UInt64) {
        guard let acks else { return }
        noteUnacknowledged(acks.expire(now: now), now: now)
    }

    /// Counts replies that went unacknowledged and warns, at most once per warning interval.
    private func noteUnacknowledged(_ n: Int, now: UInt64) {
        metrics.unacknowledged(n)
        unackedSinceWarning += n
        guard unackedSinceWarning > 0 else { return }
        let interval = UInt64(max(0, config.ackWarningIntervalSeconds) * 1e9)
        if let last = lastAckWarning, now - last < interval { return }
        logger.warning("weights are being computed but no trainer reports applying them", metadata: [
            "unacknowledged": "\(unackedSinceWarning)", "ack_window_s": "\(config.ackWindowSeconds)",
            "hint": "the trainer should send op \"applied\" for every shape reply it uses (PROTOCOL.md)"])
        unackedSinceWarning = 0
        lastAckWarning = now
    }

    private func expireDeadlines() {
        guard config.limits.timeoutMillis > 0, !inflight.isEmpty else { return }
        let now = monotonicNanos()
        for (key, e) in inflight where e.deadline <= now {
            inflight.removeValue(forKey: key)
            e.job.cancelled.store(true, ordering: .relaxed)
            logger.warning("request timed out", metadata: ["id": "\(e.job.header.id)"])
            replyError(e.envelope, request: e.job.message, op: "shape", id: e.job.header.id,
                       WireError(.timeout, "not finished within \(config.limits.timeoutMillis) ms"), received: e.received, omit: e.omit)
        }
    }

    private func writeMetricsFile() {
        guard let path = config.metricsFile else { return }
        let text = metrics.prometheus(inFlight: inflight.count, queueDepth: queue.depth, workers: config.workers)
        let tmp = path + ".tmp"
        guard let f = fopen(tmp, "w") else { return }
        fputs(text, f)
        fclose(f)
        rename(tmp, path)
    }

    // MARK: workers

    private func workerLoop(index: Int) {
        let push: ZmqSocket
        do {
            push = try ZmqSocket(context: context, type: ZMQ_PUSH)
            push.set(ZMQ_SNDHWM, 0)
            try push.connect(pullEndpoint)
        } catch {
            logger.critical("worker \(index) cannot connect: \(error)")
            return
        }
        while let job = queue.pop() {
            if job.cancelled.load(ordering: .relaxed) { continue }
            let (frames, code) = compute(job)
            var tag = withUnsafeBytes(of: job.key) { Array($0) }
            tag.append(code.map { UInt8(WireErrorCode.allCases.firstIndex(of: $0)!) } ?? 255)
            push.send([ZmqFrames.copying([tag]), ZmqFrames.taking(frames)])
        }
        push.close(lingerMillis: -1)
    }

    private func compute(_ job: Job) -> ([FrameBuffer], WireErrorCode?) {
        let id = job.header.id
        func fail(_ e: WireError) -> ([FrameBuffer], WireErrorCode?) {
            logger.debug("shape failed", metadata: ["id": "\(id)", "code": "\(e.code.rawValue)", "message": "\(e.message)"])
            return ([FrameBuffer(bytes: ReplyHeader(op: "shape", id: id, error: e).encode())], e.code)
        }
        do {
            let req = try ShapeRequestCodec.decode(header: job.header, frames: job.message.all, limits: config.limits, defaults: config.defaults)
            if capture != nil, let stateful = shaper as? any CaptureStateProvider {
                let snapshot = stateful.captureState()
                job.engineState.withLock { $0 = snapshot }
            }
            let t0 = monotonicNanos()
            let result = try shaper.shape(req)
            let micros = Int((monotonicNanos() - t0) / 1000) // the core alone: codec and transport excluded
            try Self.validate(result, req)
            if acks != nil, req.options.computeWeights {
                let digest = WeightDigest(weights: result.weights, mask: req.mask, rows: req.batch, length: req.length)
                job.sentWeights.withLock { $0 = digest }
            }
            metrics.computed(rollouts: req.batch, tokens: req.batch * req.length, micros: micros, batch: result.metrics)
            let withEntropy = job.header.tensors.contains { $0.name == "logits" || $0.name == "topk_logits" }
            let reply = ShapeReply(result: result, id: id, batch: req.batch, length: req.length,
                                   computeMicros: micros, includeEntropies: withEntropy)
            return (ShapeReplyCodec.encode(reply, maxFrameBytes: config.limits.maxFrameBytes), nil)
        } catch let e as WireError {
            return fail(e)
        } catch let e as ShapeError {
            return fail(WireError(WireErrorCode(rawValue: e.code) ?? .internal, e.description))
        } catch {
            return fail(WireError(.internal, "\(error)"))
        }
    }

    /// The core's result must have the request's shapes before it goes on the wire.
    static func validate(_ r: ShapeResult, _ q: ShapeRequest) throws {
        let bt = q.batch * q.length
        guard r.weights.count == bt, r.categories.count == bt, r.rewards.count == q.batch,
              r.components.count == 4 * q.batch, r.rolloutStatus.count == q.batch,
              r.entropies.map({ $0.count == bt }) ?? true else {
            throw WireError(.internal, "the shaping core returned tensors of the wrong size")
        }
    }
}
