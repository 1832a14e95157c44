import ArgumentParser
import Foundation
import Logging
import CUDABackend
import Capture
import HTTPFront
import Pipeline
import Rewards
import Shaping
import Sidecar
import Tokenization
import Wire

/// `rest-shaper serve`: the ZeroMQ sidecar (protocol/PROTOCOL.md).
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the ZeroMQ sidecar: ResT token weights and ToolRL rewards for tokenized rollouts.",
        discussion: """
        Binds a ROUTER socket (default \(SidecarConfig.defaultEndpoint)). A tcp bind on anything but a \
        loopback address needs --curve-secret-key and --curve-allow (keys from `rest-shaper keygen`), \
        or --insecure. The shaping core runs in --workers supervised worker processes (--isolation \
        process): a worker that dies costs its request an 'internal' reply and is replaced. \
        SIGINT/SIGTERM drain: in-flight requests finish and are answered, the capture is flushed, and \
        the process exits 0.
        --http HOST:PORT also serves the reward over HTTP for OpenRLHF and slime (same process, same \
        engine; see protocol/PROTOCOL.md); a non-loopback address needs --http-token (or --insecure).
        """)

    @Option(help: "ZeroMQ endpoint: ipc://PATH, tcp://127.0.0.1:PORT, …") var bind = SidecarConfig.defaultEndpoint
    @Option(help: "Tokenizer: tokenizer.json or qwen.tiktoken.") var tokenizer: String
    @Option(help: "Shaping/schedule configuration (JSON).") var config: String?
    @Option(help: "Append every request/reply to a capture file in this directory.") var capture: String?
    @Flag(help: "Store full logits in the capture (large; by default the computed entropies stand in).") var captureLogits = false
    @Option(help: "Workers taking requests (processes or threads, see --isolation).") var workers = 2
    @Option(help: "process: the shaping core runs in supervised worker processes (a crash costs one request); thread: in this process (fastest, a crash ends the server).")
    var isolation = "process"
    @Option(help: "Threads the shaping core uses per request (0 = all cores).") var threads = 0
    @Option(help: "Entropy of full-logits requests: cpu, cuda or auto (cuda when a device opens, else cpu).") var backend = "cpu"
    @Option(help: "CUDA device for --backend cuda|auto.") var device = 0
    @Option(help: "Most shape requests queued or running; more are answered 'busy'.") var queue = 64
    @Option(help: "Per-request timeout in milliseconds (0 = none).") var timeoutMs = 120_000
    @Option(help: "Largest request, MiB (also ZeroMQ's per-frame limit: a larger frame drops the connection).") var maxMessageMb = 2048
    @Option(help: "Most request bytes held by workers at once, MiB; more shape requests are answered 'busy'.") var maxInflightMb = 4096
    @Option(help: "Milliseconds a worker process may overrun a timed-out request before it is killed and replaced.") var killGraceMs = 5000
    @Option(help: "Largest B·T.") var maxTokens = 8 << 20
    @Option(help: "Largest vocabulary dimension of logits.") var maxVocab = 1 << 20
    @Option(help: "Largest batch B.") var maxBatch = 1 << 16
    @Option(help: "Default weight profile: aligned, released, uniform.") var profile = "aligned"
    @Option(help: "Default reward variant: rest or toolrl.") var reward = "rest"
    @Option(help: "Default reward flags, comma-separated (e.g. SCHEDULEREWARD,WITHLENGTH).") var rewardFlags = ""
    @Option(help: "CURVE server secret key (40 Z85 characters), or @FILE to read it from a file.") var curveSecretKey: String?
    @Option(help: "File of client public keys (Z85, one per line, # comments) allowed to connect with CURVE; others are refused and counted.")
    var curveAllow: String?
    @Flag(help: "Allow a tcp bind without CURVE client authentication (and --http without a token) on a non-loopback address.") var insecure = false
    @Option(help: "Also serve the reward over HTTP (OpenRLHF, slime): PORT or HOST:PORT (a bare port binds 127.0.0.1).") var http: String?
    @Option(help: "Bearer token every HTTP request must carry (TOKEN or @FILE).") var httpToken: String?
    @Option(help: "Largest HTTP request body, MiB.") var httpMaxBodyMb = 64
    @Option(help: "HTTP reward requests scored at once.") var httpWorkers = 2
    @Option(help: "HTTP reward requests admitted at once (running or waiting); more are answered 503 busy.") var httpQueue = 256
    @Option(help: "Step of HTTP requests without ?step=: 1 + rows scored so far / this (0 = off).") var httpSamplesPerStep = 0
    @Option(help: "Write Prometheus metrics to this file (every second and at exit).") var metricsFile: String?
    @Option(help: "Seconds a shape reply waits for the trainer's 'applied' report before it counts as unacknowledged (0 = do not track).")
    var ackWindowS = 600.0
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel = "info"
    @Option(help: .private) var workerConnect: String?
    @Option(help: .private) var workerIndex = 0

    func validate() throws {
        guard ProfileRegistry.names.contains(profile) else { throw ValidationError("unknown --profile \(profile) (known: \(ProfileRegistry.names.joined(separator: ", ")))") }
        guard RewardRegistry.names.contains(reward) else { throw ValidationError("unknown --reward \(reward) (known: \(RewardRegistry.names.joined(separator: ", ")))") }
        guard workers >= 1, queue >= 1, maxMessageMb >= 1, maxInflightMb >= 1 else {
            throw ValidationError("--workers, --queue, --max-message-mb and --max-inflight-mb must be ≥ 1")
        }
        // MiB → bytes must not overflow (checked in integers, like every number the server reads).
        guard maxMessageMb <= 1 << 30, maxInflightMb <= 1 << 30, timeoutMs >= 0, killGraceMs >= 0, maxTokens >= 1, maxVocab >= 1, maxBatch >= 1 else {
            throw ValidationError("--max-message-mb and --max-inflight-mb must be ≤ 2^30; --timeout-ms, --kill-grace-ms ≥ 0; the other limits ≥ 1")
        }
        guard ["process", "thread"].contains(isolation) else { throw ValidationError("--isolation must be process or thread") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
        guard ackWindowS >= 0, ackWindowS.isFinite else { throw ValidationError("--ack-window-s must be ≥ 0") }
        guard BackendKind(rawValue: backend) != nil else { throw ValidationError("--backend must be cpu, cuda or auto") }
        if http != nil { _ = try httpConfig(flags: [:]) }
    }

    /// The HTTP front's configuration from the `--http…` options (nil without `--http`).
    private func httpConfig(flags: [String: Bool]) throws -> HTTPFrontConfig {
        let (host, port) = try HTTPFrontConfig.parseAddress(http ?? "")
        let token = try httpToken.map { try Self.secret($0) }
        let cfg = HTTPFrontConfig(host: host, port: port, token: token, insecure: insecure, maxBodyBytes: httpMaxBodyMb << 20,
                                  workers: httpWorkers, queueCapacity: httpQueue, maxBatch: maxBatch,
                                  defaultReward: reward, defaultFlags: flags, samplesPerStep: httpSamplesPerStep)
        try cfg.validate()
        return cfg
    }

    /// A secret given as itself or as @FILE (trimmed).
    private static func secret(_ value: String) throws -> String {
        guard value.hasPrefix("@") else { return value }
        return try String(contentsOfFile: String(value.dropFirst()), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func run() throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let tok = try Tokenizer.load(path: tokenizer)
        let shaping = try config.map { try ShapingConfig.fromJSON(String(contentsOfFile: $0, encoding: .utf8)) } ?? ShapingConfig()
        let flags = Dictionary(rewardFlags.split(separator: ",").map { (String($0).trimmingCharacters(in: .whitespaces), true) },
                               uniquingKeysWith: { a, _ in a })
        let limits = WireLimits(maxMessageBytes: maxMessageMb << 20, maxTokens: maxTokens, maxVocab: maxVocab,
                                maxBatch: maxBatch, timeoutMillis: timeoutMs, vocabSize: tok.vocabSize)
        let defaults = ShapeOptions(profile: profile, reward: reward, rewardFlags: flags)
        if let workerConnect {
            // A worker process of a server started with --isolation process (same command line).
            let logger = Logger(label: "rest-shaper.worker")
            try ShapingWorkerProcess.run(endpoint: workerConnect, index: workerIndex, limits: limits, defaults: defaults,
                                         digests: ackWindowS > 0, logger: logger) { curriculum in
                ShapingEngine(tokenizer: tok, config: shaping, threads: threads, logitsEntropy: try logitsEntropyComputer(logger),
                              curriculum: curriculum)
            }
            return
        }
        let logger = Logger(label: "rest-shaper.sidecar")
        var cfg = SidecarConfig(
            bind: bind, workers: workers, queueCapacity: queue, limits: limits, defaults: defaults,
            captureDirectory: capture, captureLogits: captureLogits, curveSecretKey: try curveSecretKey.map { try Self.secret($0) },
            insecure: insecure, metricsFile: metricsFile, serverVersion: "rest-shaper \(RestShaperVersion.string)", ackWindowSeconds: ackWindowS)
        cfg.curveAllow = try curveAllow.map { try CurveKeys.allowList(path: $0) }
        cfg.maxInflightBytes = maxInflightMb << 20
        cfg.killGraceMillis = killGraceMs
        // An engine in this process serves --isolation thread, and the HTTP front (which scores
        // texts in this process); with process isolation and no --http the server needs none.
        let localEngine = isolation == "thread" || http != nil
            ? ShapingEngine(tokenizer: tok, config: shaping, threads: threads, logitsEntropy: try logitsEntropyComputer(logger)) : nil
        let workersKind: SidecarWorkers
        if isolation == "process" {
            // The workers run this executable with this command line (plus --worker-connect).
            workersKind = .processes(WorkerLaunch(executable: WorkerLaunch.currentExecutable, arguments: Array(CommandLine.arguments.dropFirst())),
                                     curriculum: LocalEntropyCurriculum())
        } else if let localEngine {
            workersKind = .threads(localEngine)
        } else {
            throw ValidationError("--isolation must be process or thread")
        }
        SidecarServer.installSignalHandlers()
        let server = try SidecarServer(config: cfg, workers: workersKind, logger: logger) // SidecarError prints its reason

        // The HTTP reward front: same engine, drains on the same signal, stops after the sidecar.
        let httpFront = try localEngine.flatMap { engine in try http.map { _ in
            try BackgroundHTTPFront.start(HTTPFront(config: httpConfig(flags: flags), engine: engine, metrics: server,
                                                    logger: Logger(label: "rest-shaper.http")),
                                          stopWhen: { SidecarServer.stopSignalReceived })
        } }
        if let httpFront {
            logger.info("rest-shaper http front listening", metadata: ["host": "\(httpFront.front.config.host)", "port": "\(httpFront.port)"])
        }
        try server.run()
        try httpFront?.stopAndWait()
    }

    /// The GPU entropy kernel for full-logits requests, per `--backend` (nil = the CPU kernels).
    private func logitsEntropyComputer(_ logger: Logger) throws -> (any LogitsEntropyComputer)? {
        switch BackendKind(rawValue: backend) ?? .cpu {
        case .cpu:
            return nil
        case .cuda:
            let c = try CUDAEntropyComputer(device: device)
            logger.info("logits entropy on cuda: \(c.deviceDescription)")
            return c
        case .auto:
            do {
                let c = try CUDAEntropyComputer(device: device)
                logger.info("logits entropy on cuda: \(c.deviceDescription)")
                return c
            } catch {
                logger.notice("cuda unavailable (\(error)); logits entropy on the cpu")
                return nil
            }
        }
    }
}

/// The HTTP front counts into the sidecar's `stats`, and its `/metrics` is their Prometheus text.
extension SidecarServer: HTTPFrontMetrics {
    public func httpRequest(route: String, error: String?) { metrics.http(route: route, error: error) }
    public func httpScored(rows: Int) { metrics.httpScored(rows: rows) }
}

/// `rest-shaper keygen`: a CURVE keypair for `serve --curve-secret-key` / `--curve-allow` and the clients.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Write a CURVE keypair (Z85): PREFIX.key (secret, mode 0600) and PREFIX.pub (public).",
        discussion: """
        Server: `rest-shaper keygen --out server`, then `serve --curve-secret-key @server.key --curve-allow clients.txt` \
        and hand server.pub to the clients. Each client: `rest-shaper keygen --out client`; append client.pub's \
        line to clients.txt; the client connects with curve_server_key (server.pub), curve_public_key and \
        curve_secret_key (its own pair). Without --out the pair is printed.
        """)

    @Option(help: "Write PREFIX.key and PREFIX.pub instead of printing the pair.") var out: String?

    func run() throws {
        let (pub, sec) = try CurveKeys.generate()
        guard let out else {
            print("public: \(pub)\nsecret: \(sec)")
            return
        }
        let secretPath = out + ".key", publicPath = out + ".pub"
        // The secret key file is created owner-only before anything is written into it.
        let fd = open(secretPath, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw ValidationError("cannot create \(secretPath): \(String(cString: strerror(errno))) (it must not exist yet)") }
        let line = Array((sec + "\n").utf8)
        let n = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard n == line.count else { throw ValidationError("cannot write \(secretPath)") }
        try (pub + "\n").write(toFile: publicPath, atomically: true, encoding: .utf8)
        print("wrote \(secretPath) (secret, 0600) and \(publicPath): \(pub)")
    }
}
