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

/// Where a server runs the shaping core.
public enum SidecarWorkers: Sendable {
    /// Threads of this process calling one shaper (tests, `--isolation thread`).
    case threads(any Shaper)
    /// Supervised worker processes (`--isolation process`): a worker that dies costs its request
    /// an `internal` reply and is replaced; the entropy curriculum lives in the server.
    case processes(WorkerLaunch, curriculum: LocalEntropyCurriculum)
}

/// The ZeroMQ sidecar: one ROUTER socket served by an I/O thread (the caller of ``run()``), a
/// ``WorkerPool`` running the shaping core (threads, or supervised worker processes), and an
/// optional capture writer thread.
///
/// The I/O thread owns the ROUTER: it decodes headers, answers `ping`/`stats`/`applied` and
/// errors itself, admits `shape` jobs within the queue and in-flight byte budgets, and forwards
/// the workers' replies. With CURVE and an allow-list it also answers ZeroMQ's ZAP requests.
public final class SidecarServer: @unchecked Sendable {
    public let config: SidecarConfig
    let logger: Logger
    let context: UnsafeMutableRawPointer
    let router: ZmqSocket
    let pool: any WorkerPool
    let zap: ZapHandler?
    /// The counters behind `stats` (the HTTP front in the same process adds its own to them).
    public let metrics: ServerMetrics
    let capture: CaptureWriter?
    /// Shape replies awaiting the trainer's `applied` report (nil: not tracked).
    let acks: AckRegistry?
    private var unackedSinceWarning = 0
    private var lastAckWarning: UInt64?
    private var lastCaptureDropWarning: UInt64 = 0
    let stopRequested = Atomic<Bool>(false)
    /// `inflight.count`, queued jobs and live workers, published by the I/O thread for readers on
    /// other threads (``prometheusText()``).
    private let inflightGauge = Atomic<Int>(0)
    private let queuedGauge = Atomic<Int>(0)
    private let workersGauge = Atomic<Int>(0)
    /// Worker process ids (process isolation), published by the I/O thread.
    private let workerPIDs = Mutex<[Int32]>([])
    /// The bound endpoint (with the real port when binding tcp port `*`).
    public let endpoint: String
    /// The server's CURVE public key (Z85), when CURVE is on: what clients need.
    public let curvePublicKey: String?

    private struct InFlight { let job: Job; let envelope: ZmqFrames; let received: UInt64; let deadline: UInt64; let omit: Set<Int> }
    /// Shape requests received and not yet answered.
    private var inflight: [UInt64: InFlight] = [:]
    /// Bytes of every job a worker has not finished with (answered or not), by key.
    private var held: [UInt64: Int] = [:]
    private var heldBytes = 0
    private var nextKey: UInt64 = 1

    /// A server computing with `shaper` on worker threads (tests and `--isolation thread`).
    public convenience init(config: SidecarConfig, shaper: any Shaper, logger: Logger = Logger(label: "rest-shaper.sidecar")) throws {
        try self.init(config: config, workers: .threads(shaper), logger: logger)
    }

    /// Validates the endpoint policy, binds, starts no worker yet, and opens the capture file;
    /// serving starts with ``run()``.
    public init(config: SidecarConfig, workers: SidecarWorkers, logger: Logger = Logger(label: "rest-shaper.sidecar")) throws {
        try EndpointPolicy.check(config)
        self.config = config
        self.logger = logger
        let metrics = ServerMetrics()
        self.metrics = metrics
        acks = config.ackWindowSeconds > 0 ? AckRegistry(windowSeconds: config.ackWindowSeconds, capacity: config.ackCapacity) : nil
        guard let ctx = zmq_ctx_new() else { throw SidecarError.zmq("zmq_ctx_new failed") }
        context = ctx
        do {
            var publicKey: String? = nil
            if let key = config.curveSecretKey {
                guard zmq_has("curve") != 0 else { throw SidecarError.curveUnavailable }
                publicKey = try CurveKeys.publicKey(secret: key)
            }
            curvePublicKey = publicKey
            // The ZAP handler must exist before the first CURVE handshake.
            zap = try config.curveAllow.map { try ZapHandler(context: ctx, allowed: $0, logger: logger, onRefusal: { metrics.authRefused() }) }
            router = try ZmqSocket(context: ctx, type: ZMQ_ROUTER)
            router.set(ZMQ_SNDBUF, config.socketBufferBytes)
            router.set(ZMQ_RCVBUF, config.socketBufferBytes)
            router.set(ZMQ_LINGER, 0)
            // libzmq applies ZMQ_MAXMSGSIZE to each frame: a peer sending a larger one is
            // disconnected before the frame is held in memory; the whole message is checked below.
            router.setInt64(ZMQ_MAXMSGSIZE, Int64(config.limits.maxMessageBytes))
            if let key = config.curveSecretKey {
                router.set(ZMQ_CURVE_SERVER, 1)
                try router.set(ZMQ_CURVE_SECRETKEY, string: key)
                if zap != nil { try router.set(ZMQ_ZAP_DOMAIN, string: "rest-shaper") }
            }
            try router.bind(config.bind)
            endpoint = router.lastEndpoint
            capture = try config.captureDirectory.map { try CaptureWriter(directory: $0, capacity: config.captureQueueRecords,
                                                                           costLimit: config.captureQueueBytes) }
            switch workers {
            case .threads(let shaper):
                let runner = ShapeJobRunner(shaper: shaper, limits: config.limits, defaults: config.defaults, digests: acks != nil)
                pool = try ThreadWorkerPool(runner: runner, count: config.workers, capacity: config.queueCapacity,
                                            context: ctx, capture: config.captureDirectory != nil)
            case .processes(let launch, let curriculum):
                pool = try ProcessWorkerPool(launch: launch, count: config.workers, capacity: config.queueCapacity, context: ctx,
                                             curriculum: curriculum, capture: config.captureDirectory != nil,
                                             killGraceMillis: config.killGraceMillis, logger: logger, metrics: metrics)
            }
        } catch {
            // Sockets already made may be open: zmq_ctx_term would wait for them forever, so the
            // context is only shut down (the process is about to report the error and exit).
            zmq_ctx_shutdown(ctx)
            throw (error as? ZmqError).map { SidecarError.zmq($0.description) } ?? error
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
        metrics.prometheus(inFlight: inflightGauge.load(ordering: .relaxed), queueDepth: queuedGauge.load(ordering: .relaxed),
                           workers: workersGauge.load(ordering: .relaxed))
    }

    /// The process ids of the worker processes now (empty with thread isolation): for
    /// supervision tools and tests.
    public var workerProcessIDs: [Int32] { workerPIDs.withLock { $0 } }

    /// Path of the capture file, when capturing.
    public var capturePath: String? { capture?.path }

    /// Serves until a stop is requested, then drains and shuts down. Blocks the calling thread.
    public func run() throws {
        try pool.start()
        var meta: Logger.Metadata = ["endpoint": "\(endpoint)", "workers": "\(config.workers)",
                                     "isolation": "\(pool is ProcessWorkerPool ? "process" : "thread")",
                                     "capture": "\(capture?.path ?? "off")", "curve": "\(config.curveSecretKey != nil)"]
        if let curvePublicKey { meta["curve_public_key"] = "\(curvePublicKey)"; meta["allowed_clients"] = "\(config.curveAllow?.count ?? 0)" }
        logger.info("rest-shaper sidecar listening", metadata: meta)

        var items = [zmq_pollitem_t(socket: router.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)]
        items += pool.pollSockets.map { zmq_pollitem_t(socket: $0, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0) }
        if let zap { items.append(zmq_pollitem_t(socket: zap.socket.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)) }
        var draining = false
        var lastMetrics: UInt64 = 0
        while true {
            if !draining && (stopRequested.load(ordering: .relaxed) || sidecarStopSignal.load(ordering: .relaxed) != 0) {
                draining = true
                logger.info("draining", metadata: ["in_flight": "\(inflight.count)"])
            }
            if draining && inflight.isEmpty { break }
            publishGauges()
            let rc = zmq_poll(&items, Int32(items.count), pollTimeoutMillis())
            if rc < 0 {
                if zmq_errno() == EINTR { continue }
                throw SidecarError.zmq(ZmqError.last("zmq_poll").description)
            }
            zap?.service()
            pool.service(now: monotonicNanos()) { deliver($0) }
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
        pool.shutdown()
        zap?.close()
        router.close(lingerMillis: 2000)
        if let capture {
            do { try capture.close() } catch { logger.error("capture: \(error)") }
        }
        writeMetricsFile()
        zmq_ctx_term(context)
        logger.info("rest-shaper sidecar stopped", metadata: ["capture_records": "\(capture?.recordsWritten ?? 0)",
                                                              "capture_dropped": "\(capture?.droppedRecords ?? 0)"])
    }

    private var counterArguments: (inFlight: Int, queueDepth: Int, workers: Int) { (inflight.count, pool.queued, pool.live) }

    private func publishGauges() {
        inflightGauge.store(inflight.count, ordering: .relaxed)
        queuedGauge.store(pool.queued, ordering: .relaxed)
        workersGauge.store(pool.live, ordering: .relaxed)
        if let p = pool as? ProcessWorkerPool { let pids = p.processIDs; workerPIDs.withLock { $0 = pids } }
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
                                  dtypes: RequestTensors.named, limits: config.limits.named + [Named("max_inflight_bytes", config.maxInflightBytes)],
                                  vocab: config.limits.vocabSize)
            replyDirect(envelope, request: msg, header: h, received: received)
        case .stats:
            var h = ReplyHeader(op: "stats", id: header.id)
            h.metrics = metrics.recentBatches()
            let a = counterArguments
            h.stats = metrics.counters(inFlight: a.inFlight, queueDepth: a.queueDepth, workers: a.workers, inflightBytes: heldBytes)
            h.prometheus = metrics.prometheus(inFlight: a.inFlight, queueDepth: a.queueDepth, workers: a.workers)
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
            // The in-flight byte budget: a request is admitted while the bytes workers hold stay
            // within it, or when nothing is held (so one request up to max_message_bytes always fits).
            if !held.isEmpty, heldBytes + bytes > config.maxInflightBytes {
                return replyError(envelope, request: msg, op: "shape", id: header.id,
                                  WireError(.busy, "\(heldBytes + bytes) bytes would be in flight (max_inflight_bytes \(config.maxInflightBytes))"),
                                  received: received)
            }
            let key = nextKey; nextKey += 1
            let job = Job(key: key, header: header, message: msg, bytes: bytes)
            guard pool.submit(job) else {
                return replyError(envelope, request: msg, op: "shape", id: header.id, WireError(.busy, "the work queue is full"), received: received)
            }
            let timeout = UInt64(max(config.limits.timeoutMillis, 0)) * 1_000_000
            inflight[key] = InFlight(job: job, envelope: envelope, received: received,
                                     deadline: timeout > 0 ? received + timeout : .max, omit: omittedFrames(header))
            held[key] = bytes
            heldBytes += bytes
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
        record(request: request, reply: OwnedFrames([bytes]), omit: omit, engineState: nil)
        metrics.reply(error: header.error?.code, bytes: bytes.count, latencyNanos: nil)
        if let e = header.error { logger.debug("error reply", metadata: ["code": "\(e.code.rawValue)", "message": "\(e.message)"]) }
    }

    private func replyError(_ envelope: ZmqFrames, request: ZmqFrames, op: String, id: Int?, _ error: WireError,
                            received: UInt64, omit: Set<Int> = []) {
        replyDirect(envelope, request: request, header: ReplyHeader(op: op, id: id, error: error), received: received, omit: omit)
    }

    /// Appends a capture record; when the capture queue is full the record is dropped, counted and
    /// logged (at most once a minute): serving never waits for the disk.
    private func record(request: any CaptureFrames, reply: any CaptureFrames, omit: Set<Int>, engineState: [UInt8]?) {
        guard let capture else { return }
        if !capture.append(request: request, reply: reply, omit: omit, engineState: engineState) {
            metrics.captureDropped()
            let now = monotonicNanos()
            if now - lastCaptureDropWarning > 60_000_000_000 || lastCaptureDropWarning == 0 {
                lastCaptureDropWarning = now
                logger.warning("capture queue full: records are being dropped (the disk is slower than the requests)",
                               metadata: ["dropped_total": "\(capture.droppedRecords)"])
            }
        }
    }

    /// A job's worker is done with it: release its bytes, and answer it unless it timed out before.
    private func deliver(_ event: WorkerEvent) {
        let key: UInt64
        switch event {
        case .finished(let o, _): key = o.key
        case .died(let k, _): key = k
        }
        if let b = held.removeValue(forKey: key) { heldBytes -= b }
        guard let entry = inflight.removeValue(forKey: key) else { return } // timed out earlier: already answered
        let now = monotonicNanos()
        switch event {
        case .finished(let outcome, let frames):
            if outcome.code == nil {
                // The batch's region metrics travel in the reply header (from a worker process too).
                let batch = (try? ReplyHeader.decode(frames.raw(0), frameCount: frames.count))?.metrics?.batchMetrics
                metrics.computed(rollouts: outcome.rollouts, tokens: outcome.tokens, micros: outcome.micros, batch: batch)
            }
            record(request: entry.job.message, reply: frames.shared(), omit: entry.omit, engineState: entry.job.engineState.withLock { $0 })
            let bytes = frames.totalBytes
            router.send([entry.envelope, frames])
            metrics.reply(error: outcome.code, bytes: bytes, latencyNanos: now - entry.received)
            if outcome.code == nil, let acks, let digest = outcome.digest {
                noteUnacknowledged(acks.register(id: entry.job.header.id, digest: digest, now: now), now: now)
            }
        case .died(_, let reason):
            replyError(entry.envelope, request: entry.job.message, op: "shape", id: entry.job.header.id,
                       WireError(.internal, "\(reason); a new worker has been started"), received: entry.received, omit: entry.omit)
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

    /// Answers `timeout` for every request past its deadline and cancels its job: the engine
    /// stops at its next row boundary, and a worker process that does not is killed.
    private func expireDeadlines() {
        guard config.limits.timeoutMillis > 0, !inflight.isEmpty else { return }
        let now = monotonicNanos()
        for (key, e) in inflight where e.deadline <= now {
            inflight.removeValue(forKey: key)
            if pool.cancel(e.job), let b = held.removeValue(forKey: key) { heldBytes -= b }
            metrics.cancelled()
            logger.warning("request timed out", metadata: ["id": "\(e.job.header.id)"])
            replyError(e.envelope, request: e.job.message, op: "shape", id: e.job.header.id,
                       WireError(.timeout, "not finished within \(config.limits.timeoutMillis) ms"), received: e.received, omit: e.omit)
        }
    }

    private func writeMetricsFile() {
        guard let path = config.metricsFile else { return }
        let a = counterArguments
        let text = metrics.prometheus(inFlight: a.inFlight, queueDepth: a.queueDepth, workers: a.workers)
        let tmp = path + ".tmp"
        guard let f = fopen(tmp, "w") else { return }
        fputs(text, f)
        fclose(f)
        rename(tmp, path)
    }
}
