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
    /// CURVE server secret key (Z85, 40 characters): enables encryption and client authentication by key.
    public var curveSecretKey: String?
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
    }
}

/// Errors that stop the server from starting.
public enum SidecarError: Error, CustomStringConvertible {
    case insecureBind(String)
    case badEndpoint(String)
    case badCurveKey
    case curveUnavailable
    case zmq(String)

    public var description: String {
        switch self {
        case .insecureBind(let e):
            "refusing to bind \(e) without encryption: it is reachable from other machines. Give --curve-secret-key, bind ipc:// or tcp://127.0.0.1, or say --insecure"
        case .badEndpoint(let e): "unsupported endpoint \(e) (use ipc://PATH, tcp://HOST:PORT or inproc://NAME)"
        case .badCurveKey: "the CURVE secret key must be 40 Z85 characters"
        case .curveUnavailable: "this libzmq was built without CURVE support"
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

    /// Throws unless the bind is local, CURVE-protected, or explicitly insecure.
    public static func check(_ config: SidecarConfig) throws {
        if try isLocal(config.bind) { return }
        if config.curveSecretKey != nil || config.insecure { return }
        throw SidecarError.insecureBind(config.bind)
    }
}
