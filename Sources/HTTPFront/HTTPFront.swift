import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Pipeline
import PyJSON
import ServiceLifecycle
import Synchronization
import Wire

/// Where the HTTP front counts its requests and gets the process's Prometheus text (the sidecar's
/// `stats` counters): a seam, so that this module needs no ZeroMQ.
public protocol HTTPFrontMetrics: Sendable {
    /// The counters in Prometheus text exposition format, as the `stats` reply's `prometheus`.
    func prometheusText() -> String
    /// One request answered on `route` (`openrlhf`, `slime`, `healthz`, `metrics`, `other`), with
    /// its error code unless it succeeded.
    func httpRequest(route: String, error: String?)
    /// Texts scored by one request.
    func httpScored(rows: Int)
}

/// The HTTP reward front: ToolRL/ResT rewards for trainers that call a remote reward model over
/// HTTP (OpenRLHF, slime), computed by the same ``ShapingEngine`` as the ZeroMQ sidecar.
///
/// Routes (see protocol/PROTOCOL.md, "HTTP reward front"):
/// - `POST /openrlhf/get_reward` (alias `POST /get_reward`): OpenRLHF's batch format
///   (``OpenRLHFRoute``);
/// - `POST /slime/reward`: slime's one-sample format (``SlimeRoute``);
/// - `GET /healthz`: `{"status": "ok"|"draining", "in_flight", "step"}`;
/// - `GET /metrics`: the Prometheus text of ``HTTPFrontMetrics``.
///
/// Requests are parsed on the connection's task, scored behind an ``AdmissionGate`` (`busy`
/// beyond `--http-queue`) on its worker threads (a request of a few rows on its own task), and
/// refused with the ZeroMQ protocol's error codes. ``shutdown()`` drains: the listener closes,
/// requests already received finish and are answered, new ones on open connections get `busy`,
/// then ``run(onListening:stopWhen:)`` returns.
public final class HTTPFront: Sendable {
    public let config: HTTPFrontConfig
    let engine: ShapingEngine
    let metrics: any HTTPFrontMetrics
    let logger: Logger
    package let gate: AdmissionGate
    let steps: StepCounter
    private let draining = Atomic<Bool>(false)
    private let inFlight = Atomic<Int>(0)
    private let group = Mutex<ServiceGroup?>(nil)

    public init(config: HTTPFrontConfig, engine: ShapingEngine, metrics: any HTTPFrontMetrics,
                logger: Logger = Logger(label: "rest-shaper.http")) throws(HTTPFrontSetupError) {
        try config.validate()
        self.config = config
        self.engine = engine
        self.metrics = metrics
        self.logger = logger
        gate = AdmissionGate(slots: config.workers, capacity: config.queueCapacity)
        steps = StepCounter(samplesPerStep: config.samplesPerStep)
    }

    /// Reward requests being parsed, waiting or scored right now.
    public var requestsInFlight: Int { inFlight.load(ordering: .relaxed) }

    /// Reward requests past parsing: being scored or waiting for a worker.
    public var requestsAdmitted: Int { gate.admitted }

    /// Whether ``shutdown()`` has been called.
    public var isDraining: Bool { draining.load(ordering: .relaxed) }

    /// Binds and serves until ``shutdown()`` (or `stopWhen` turns true, polled every 50 ms), then
    /// drains and returns. `onListening` receives the bound port. Throws when the bind fails.
    public func run(onListening: @escaping @Sendable (Int) -> Void = { _ in },
                    stopWhen: (@Sendable () -> Bool)? = nil) async throws {
        gate.start()
        defer { gate.close() }
        let router = Router(context: FrontContext.self)
        router.add(middleware: FrontMiddleware(token: config.token, metrics: metrics))
        router.post("/openrlhf/get_reward") { request, context in try await self.openRLHF(request, context) }
        router.post("/get_reward") { request, context in try await self.openRLHF(request, context) }
        router.post("/slime/reward") { request, context in try await self.slime(request, context) }
        router.get("/healthz") { _, _ in self.health() }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: self.metrics.prometheusText())))
        }
        let port = config.port
        let app = Application(
            router: router,
            server: .http1(configuration: .init(idleTimeout: config.idleTimeoutSeconds.map { .seconds(Int64($0)) })),
            configuration: .init(address: .hostname(config.host, port: port), serverName: "rest-shaper"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? port) },
            logger: logger)
        // No signal handling here: the process owner (serve) decides when to drain.
        let serviceGroup = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let stopEarly: Bool = group.withLock { g in
            g = serviceGroup
            return draining.load(ordering: .relaxed)
        }
        if stopEarly { await serviceGroup.triggerGracefulShutdown() }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            if let stopWhen {
                tasks.addTask {
                    while !stopWhen() && !self.isDraining {
                        try? await Task.sleep(nanoseconds: 50_000_000)
                        if Task.isCancelled { return }
                    }
                    self.shutdown()
                }
            }
            try await serviceGroup.run()
            tasks.cancelAll()
        }
        logger.info("http front stopped")
    }

    /// Starts a graceful drain (thread-safe, idempotent).
    public func shutdown() {
        guard !draining.exchange(true, ordering: .relaxed) else { return }
        logger.info("http front draining", metadata: ["in_flight": "\(requestsInFlight)"])
        if let g = group.withLock({ $0 }) {
            Task { await g.triggerGracefulShutdown() }
        }
    }

    // MARK: routes

    private func openRLHF(_ request: Request, _ context: FrontContext) async throws -> Response {
        try await scored(request, context) { body, params in
            let batch = try OpenRLHFRoute.parse(body, maxBatch: self.config.maxBatch)
            return (batch, { result, step in OpenRLHFRoute.reply(result, step: step) })
        }
    }

    private func slime(_ request: Request, _ context: FrontContext) async throws -> Response {
        try await scored(request, context) { body, params in
            let batch = try SlimeRoute.parse(body)
            return (batch, { result, step in SlimeRoute.reply(result, step: step, plain: params.plain) })
        }
    }

    /// The shared path of the reward routes: settings, body, parse, step, score, reply.
    private func scored(_ request: Request, _ context: FrontContext,
                        parse: (JSONValue, RewardParameters) throws -> (TextBatch, @Sendable (TextRewardResult, Int) -> JSONValue))
        async throws -> Response {
        inFlight.add(1, ordering: .relaxed)
        defer { inFlight.subtract(1, ordering: .relaxed) }
        if isDraining { throw HTTPFrontError(.busy, "server is shutting down") }
        let params = try RewardParameters.parse(
            query: request.uri.queryParameters.map { (String($0.key), String($0.value)) },
            headers: request.headers, defaults: (config.defaultReward, config.defaultFlags))
        let buffer = try await readBody(request)
        let body = try JSONBody.decode(buffer)
        let (batch, reply) = try parse(body, params)
        let step: Int
        var counted = false
        if let s = params.step { step = s }
        else if let s = steps.take(rowCount: batch.solutions.count) { step = s; counted = true }
        else if params.dependsOnStep {
            throw HTTPFrontError(.badHeader, "the reward flags \(RewardParameters.stepDependentFlags.filter { params.flags[$0] == true }.joined(separator: ", ")) depend on the training step: add step=N to the URL, or start the server with --http-samples-per-step")
        } else { step = 0 }
        let textRequest = TextRewardRequest(solutions: batch.solutions, groundTruths: batch.labels, step: step,
                                            reward: params.reward, rewardFlags: params.flags)
        let engine = self.engine
        let result: TextRewardResult
        do {
            let small = batch.solutions.count <= Self.inline.rows && buffer.readableBytes <= Self.inline.bytes
            result = try await gate.run(inline: small) { try engine.scoreTexts(textRequest) }
        } catch let e as HTTPFrontError {
            if counted { steps.giveBack(rowCount: batch.solutions.count) }  // a retried `busy` counts once
            throw e
        } catch let e as ShapeError {
            throw HTTPFrontError(WireErrorCode(rawValue: e.code) ?? .internal, e.description)
        }
        metrics.httpScored(rows: batch.solutions.count)
        return Self.json(reply(result, step))
    }

    /// The body, refused (`limit`) before it is read whole when it is larger than the limit.
    private func readBody(_ request: Request) async throws(HTTPFrontError) -> ByteBuffer {
        let limit = config.maxBodyBytes
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit {
            var e = HTTPFrontError(.limit, "body of \(declared) bytes exceeds --http-max-body-mb (\(limit) bytes)")
            e.closeConnection = true
            throw e
        }
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            var e = HTTPFrontError(.limit, "body exceeds --http-max-body-mb (\(limit) bytes)")
            e.closeConnection = true
            throw e
        } catch {
            throw HTTPFrontError(.badHeader, "cannot read the body: \(error)")
        }
    }

    private func health() -> Response {
        let draining = isDraining
        var o: [(String, JSONValue)] = [("status", .string(draining ? "draining" : "ok")), ("in_flight", .int(requestsInFlight))]
        if let s = steps.current { o.append(("step", .int(s))) }
        var r = Self.json(.object(JSONObject(o)))
        if draining { r.status = .serviceUnavailable }
        return r
    }

    /// Requests this small are scored on the connection's task: tens of µs of work, less than the
    /// hop to a worker thread and back costs (the byte bound caps the reward's worst case, which
    /// grows with the square of the tool calls in a text, at a few ms).
    static let inline = (rows: 4, bytes: 16 << 10)

    static func json(_ value: JSONValue) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: JSONBody.encode(value))))
    }
}

/// The request context: Hummingbird's basics plus the connection, so that a refused body's
/// connection can be closed instead of read to its end.
struct FrontContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// Authentication (when a token is set) and every error as `{"error": {"code", "message"}}`.
struct FrontMiddleware: RouterMiddleware {
    typealias Context = FrontContext
    let token: String?
    let metrics: any HTTPFrontMetrics

    func handle(_ request: Request, context: FrontContext,
                next: (Request, FrontContext) async throws -> Response) async throws -> Response {
        let (response, code) = try await answer(request, context: context, next: next)
        metrics.httpRequest(route: Self.route(request.uri.path), error: code)
        return response
    }

    static func route(_ path: String) -> String {
        switch path {
        case "/openrlhf/get_reward", "/get_reward": "openrlhf"
        case "/slime/reward": "slime"
        case "/healthz": "healthz"
        case "/metrics": "metrics"
        default: "other"
        }
    }

    /// The response and, for an error reply, its code.
    private func answer(_ request: Request, context: FrontContext,
                        next: (Request, FrontContext) async throws -> Response) async throws -> (Response, String?) {
        do {
            if let token { try Self.authenticate(request.headers[.authorization], token: token) }
            return (try await next(request, context), nil)
        } catch let e as HTTPFrontError {
            return (try reply(e, request, context), e.code)
        } catch let e as HTTPError where e.status == .notFound {
            let e = HTTPFrontError.notFound("no route \(request.method) \(request.uri.path) (routes: POST /openrlhf/get_reward, POST /get_reward, POST /slime/reward, GET /healthz, GET /metrics)")
            return (try reply(e, request, context), e.code)
        } catch let e as HTTPError {
            let e = HTTPFrontError(e.status == .contentTooLarge ? .limit : e.status.code >= 500 ? .internal : .badHeader, e.body ?? "\(e.status)")
            return (try reply(e, request, context), e.code)
        } catch {
            let e = HTTPFrontError(.internal, "\(error)")
            return (try reply(e, request, context), e.code)
        }
    }

    private func reply(_ e: HTTPFrontError, _ request: Request, _ context: FrontContext) throws -> Response {
        var response = try e.response(from: request, context: context)
        if e.closeConnection {
            // Reply, then close: the rest of a refused body is never read.
            let channel = context.channel
            let bytes = JSONBody.encode(["error": ["code": .string(e.code), "message": .string(e.message)]])
            response.body = ResponseBody(contentLength: bytes.utf8.count) { writer in
                try await writer.write(ByteBuffer(string: bytes))
                try await writer.finish(nil)
                channel.close(promise: nil)
            }
        }
        return response
    }

    /// `Authorization: Bearer TOKEN`, or Basic auth whose password is TOKEN (what Python's
    /// requests and aiohttp send for a URL `http://user:TOKEN@host/…`).
    static func authenticate(_ header: String?, token: String) throws(HTTPFrontError) {
        guard let header else { throw .unauthorized("missing Authorization header (Bearer token, or http://user:TOKEN@host/ in the URL)") }
        var presented: String?
        if header.hasPrefix("Bearer ") {
            presented = String(header.dropFirst(7)).trimmingSpaces
        } else if header.hasPrefix("Basic "), let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingSpaces),
                  let pair = String(data: data, encoding: .utf8), let colon = pair.firstIndex(of: ":") {
            presented = String(pair[pair.index(after: colon)...])
        }
        guard let presented, constantTimeEqual(Array(presented.utf8), Array(token.utf8)) else {
            throw .unauthorized("invalid token")
        }
    }

    /// Compares without an early exit, so the time taken says nothing about the token.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = a.count ^ b.count
        for i in 0..<max(a.count, b.count) {
            diff |= Int((i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0))
        }
        return diff == 0
    }
}
