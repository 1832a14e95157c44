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
        loopback address needs --curve-secret-key (or --insecure). SIGINT/SIGTERM drain: in-flight \
        requests finish and are answered, the capture is flushed, and the process exits 0.
        --http HOST:PORT also serves the reward over HTTP for OpenRLHF and slime (same process, same \
        engine; see protocol/PROTOCOL.md); a non-loopback address needs --http-token (or --insecure).
        """)

    @Option(help: "ZeroMQ endpoint: ipc://PATH, tcp://127.0.0.1:PORT, …") var bind = SidecarConfig.defaultEndpoint
    @Option(help: "Tokenizer: tokenizer.json or qwen.tiktoken.") var tokenizer: String
    @Option(help: "Shaping/schedule configuration (JSON).") var config: String?
    @Option(help: "Append every request/reply to a capture file in this directory.") var capture: String?
    @Flag(help: "Store full logits in the capture (large; by default the computed entropies stand in).") var captureLogits = false
    @Option(help: "Worker threads taking requests.") var workers = 2
    @Option(help: "Threads the shaping core uses per request (0 = all cores).") var threads = 0
    @Option(help: "Entropy of full-logits requests: cpu, cuda or auto (cuda when a device opens, else cpu).") var backend = "cpu"
    @Option(help: "CUDA device for --backend cuda|auto.") var device = 0
    @Option(help: "Most shape requests queued or running; more are answered 'busy'.") var queue = 64
    @Option(help: "Per-request timeout in milliseconds (0 = none).") var timeoutMs = 120_000
    @Option(help: "Largest request, MiB.") var maxMessageMb = 2048
    @Option(help: "Largest B·T.") var maxTokens = 8 << 20
    @Option(help: "Largest vocabulary dimension of logits.") var maxVocab = 1 << 20
    @Option(help: "Largest batch B.") var maxBatch = 1 << 16
    @Option(help: "Default weight profile: aligned, released, uniform.") var profile = "aligned"
    @Option(help: "Default reward variant: rest or toolrl.") var reward = "rest"
    @Option(help: "Default reward flags, comma-separated (e.g. SCHEDULEREWARD,WITHLENGTH).") var rewardFlags = ""
    @Option(help: "CURVE server secret key (40 Z85 characters), or @FILE to read it from a file.") var curveSecretKey: String?
    @Flag(help: "Allow a plain-text tcp bind (and --http) on a non-loopback address.") var insecure = false
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

    func validate() throws {
        guard ProfileRegistry.names.contains(profile) else { throw ValidationError("unknown --profile \(profile) (known: \(ProfileRegistry.names.joined(separator: ", ")))") }
        guard RewardRegistry.names.contains(reward) else { throw ValidationError("unknown --reward \(reward) (known: \(RewardRegistry.names.joined(separator: ", ")))") }
        guard workers >= 1, queue >= 1, maxMessageMb >= 1 else { throw ValidationError("--workers, --queue and --max-message-mb must be ≥ 1") }
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
        let logger = Logger(label: "rest-shaper.sidecar")
        let tok = try Tokenizer.load(path: tokenizer)
        let shaping = try config.map { try ShapingConfig.fromJSON(String(contentsOfFile: $0, encoding: .utf8)) } ?? ShapingConfig()
        let engine = ShapingEngine(tokenizer: tok, config: shaping, threads: threads,
                                   logitsEntropy: try logitsEntropyComputer(logger))

        let key = try curveSecretKey.map { try Self.secret($0) }
        let flags = Dictionary(rewardFlags.split(separator: ",").map { (String($0).trimmingCharacters(in: .whitespaces), true) },
                               uniquingKeysWith: { a, _ in a })
        let cfg = SidecarConfig(
            bind: bind, workers: workers, queueCapacity: queue,
            limits: WireLimits(maxMessageBytes: maxMessageMb << 20, maxTokens: maxTokens, maxVocab: maxVocab,
                               maxBatch: maxBatch, timeoutMillis: timeoutMs, vocabSize: tok.vocabSize),
            defaults: ShapeOptions(profile: profile, reward: reward, rewardFlags: flags),
            captureDirectory: capture, captureLogits: captureLogits, curveSecretKey: key, insecure: insecure,
            metricsFile: metricsFile, serverVersion: "rest-shaper \(RestShaperVersion.string)", ackWindowSeconds: ackWindowS)
        SidecarServer.installSignalHandlers()
        let server: SidecarServer
        server = try SidecarServer(config: cfg, shaper: engine, logger: logger) // SidecarError prints its reason

        // The HTTP reward front: same engine, drains on the same signal, stops after the sidecar.
        let httpFront = try http.map { _ in
            try BackgroundHTTPFront.start(HTTPFront(config: httpConfig(flags: flags), engine: engine, metrics: server,
                                                    logger: Logger(label: "rest-shaper.http")),
                                          stopWhen: { SidecarServer.stopSignalReceived })
        }
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

/// The entropy curriculum is the engine's only cross-batch state: captures store it (JSON) so
/// replay can recompute each batch exactly.
extension ShapingEngine: CaptureStateProvider {
    public func captureState() -> [UInt8] {
        (try? [UInt8](JSONEncoder().encode(entropySchedule))) ?? []
    }

    public func restoreCaptureState(_ bytes: [UInt8]) throws {
        restoreEntropySchedule(try JSONDecoder().decode(EntropyScheduleState.self, from: Data(bytes)))
    }
}
