import Pipeline
import Wire

/// Everything `rest-shaper serve` configures.
public struct SidecarConfig: Sendable {
    /// ZeroMQ endpoint to bind (ipc path or tcp address).
    public var bind: String
    /// Worker threads computing shape requests.
    public var workers: Int
    /// Most shape requests queued or running at once; more get `busy`.
    public var queueCapacity: Int
    public var limits: WireLimits
    /// Options used where a request leaves them out.
    public var defaults: ShapeOptions
    /// Directory for capture files (nil = no capture).
    public var captureDirectory: String?
    /// Store full logits in the capture (large); otherwise the computed entropies stand in.
    public var captureLogits: Bool
    /// CURVE server secret key (Z85, 40 characters): enables encryption.
    public var curveSecretKey: String?
    /// Z85 public keys of the clients allowed to connect (with CURVE): a ZAP handler refuses every
    /// other key. nil: CURVE encrypts but any client holding the server's public key may connect.
    public var curveAllow: Set<String>?
    /// Most request bytes held by workers at once (queued or running, answered or not); beyond it
    /// shape requests get `busy` (one request is always admitted when nothing is held).
    public var maxInflightBytes: Int
    /// How long a worker process may go on after its request timed out before it is killed (ms).
    public var killGraceMillis: Int
    /// Bounds of the capture queue (records, bytes); a record beyond them is dropped and counted.
    public var captureQueueRecords: Int
    public var captureQueueBytes: Int
    /// Allow a plain-text tcp bind on a non-loopback address.
    public var insecure: Bool
    /// Where to write Prometheus metrics (rewritten every second and at exit).
    public var metricsFile: String?
    /// ZMQ_SNDBUF / ZMQ_RCVBUF.
    public var socketBufferBytes: Int32
    /// Reported by `ping`.
    public var serverVersion: String
    /// Seconds a shape reply waits for the trainer's `applied` report before it counts as
    /// unacknowledged (0: do not track acknowledgements).
    public var ackWindowSeconds: Double
    /// Most replies awaiting acknowledgement; beyond it the oldest counts as unacknowledged.
    public var ackCapacity: Int
    /// Least time between two "no trainer reports applying them" warnings.
    public var ackWarningIntervalSeconds: Double

    public static let defaultEndpoint = "ipc:///tmp/rest-shaper.sock"

    public init(bind: String = SidecarConfig.defaultEndpoint, workers: Int = 2, queueCapacity: Int = 64,
                limits: WireLimits = WireLimits(), defaults: ShapeOptions = ShapeOptions(),
                captureDirectory: String? = nil, captureLogits: Bool = false, curveSecretKey: String? = nil,
                insecure: Bool = false, metricsFile: String? = nil, socketBufferBytes: Int32 = 4 << 20,
                serverVersion: String = "rest-shaper", ackWindowSeconds: Double = 600, ackCapacity: Int = 1 << 16,
                ackWarningIntervalSeconds: Double = 60) {
        self.bind = bind; self.workers = workers; self.queueCapacity = queueCapacity; self.limits = limits
        self.defaults = defaults; self.captureDirectory = captureDirectory; self.captureLogits = captureLogits
        self.curveSecretKey = curveSecretKey; self.insecure = insecure; self.metricsFile = metricsFile
        self.socketBufferBytes = socketBufferBytes; self.serverVersion = serverVersion
        self.ackWindowSeconds = ackWindowSeconds; self.ackCapacity = ackCapacity
        self.ackWarningIntervalSeconds = ackWarningIntervalSeconds
        curveAllow = nil
        maxInflightBytes = 4 << 30
        killGraceMillis = 5000
        captureQueueRecords = 4096
        captureQueueBytes = 256 << 20
    }
}

/// Errors that stop the server from starting.
public enum SidecarError: Error, CustomStringConvertible {
    case insecureBind(String)
    case badEndpoint(String)
    case badCurveKey
    case curveUnavailable
    case badAllowList(String)
    case allowListWithoutCurve
    case zmq(String)

    public var description: String {
        switch self {
        case .insecureBind(let e):
            "refusing to bind \(e) without authenticated encryption: it is reachable from other machines. Give --curve-secret-key with --curve-allow (rest-shaper keygen makes the keys), bind ipc:// or tcp://127.0.0.1, or say --insecure"
        case .badEndpoint(let e): "unsupported endpoint \(e) (use ipc://PATH, tcp://HOST:PORT or inproc://NAME)"
        case .badCurveKey: "the CURVE secret key must be 40 Z85 characters"
        case .curveUnavailable: "this libzmq was built without CURVE support"
        case .badAllowList(let m): "--curve-allow: \(m)"
        case .allowListWithoutCurve: "--curve-allow needs --curve-secret-key"
        case .zmq(let m): m
        }
    }
}

/// Which binds are safe without CURVE: local transports and loopback tcp.
public enum EndpointPolicy {
    /// Whether `endpoint` is reachable only from this machine.
    public static func isLocal(_ endpoint: String) throws -> Bool {
        if endpoint.hasPrefix("ipc://") || endpoint.hasPrefix("inproc://") { return true }
        guard endpoint.hasPrefix("tcp://") else { throw SidecarError.badEndpoint(endpoint) }
        var host = String(endpoint.dropFirst("tcp://".count))
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw SidecarError.badEndpoint(endpoint) }
            host = String(host[host.index(after: host.startIndex)..<close])
            return host == "::1"
        }
        if let colon = host.lastIndex(of: ":") { host = String(host[..<colon]) }
        if host == "localhost" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// Throws unless the bind is local, CURVE-protected with a client allow-list, or explicitly
    /// insecure. (CURVE without an allow-list encrypts but lets in anyone who has the server's
    /// public key, which is meant to be handed out: not enough for a network bind.)
    public static func check(_ config: SidecarConfig) throws {
        if let key = config.curveSecretKey, !CurveKeys.isZ85Key(key) { throw SidecarError.badCurveKey }
        if config.curveAllow != nil && config.curveSecretKey == nil { throw SidecarError.allowListWithoutCurve }
        if try isLocal(config.bind) { return }
        if (config.curveSecretKey != nil && config.curveAllow != nil) || config.insecure { return }
        throw SidecarError.insecureBind(config.bind)
    }
}
