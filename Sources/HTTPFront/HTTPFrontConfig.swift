/// Everything `rest-shaper serve --http` configures for the HTTP reward front.
public struct HTTPFrontConfig: Sendable {
    /// Address to bind (`127.0.0.1`, `::1`, `0.0.0.0`, a host name).
    public var host: String
    /// TCP port (0: any free port; the bound one is reported by ``HTTPFront/run(onListening:)``).
    public var port: Int
    /// When set, every request must carry `Authorization: Bearer TOKEN` (or HTTP Basic auth whose
    /// password is TOKEN, which is what a client sends for `http://user:TOKEN@host/…`).
    public var token: String?
    /// Allow a non-loopback bind without a token.
    public var insecure: Bool
    /// Largest request body; a larger one is refused (`limit`, 413) before it is read whole.
    public var maxBodyBytes: Int
    /// Requests scored at once (each on a worker thread; rows of one request run on the engine's threads).
    public var workers: Int
    /// Reward requests admitted at once, running or waiting for a worker; more get `busy` (503).
    public var queueCapacity: Int
    /// Most rows (texts) in one request; more get `limit` (413).
    public var maxBatch: Int
    /// Reward variant where a request names none (`rest` or `toolrl`).
    public var defaultReward: String
    /// Reward flags where a request names none (environment names, e.g. `SCHEDULEREWARD`).
    public var defaultFlags: [String: Bool]
    /// When > 0, a request without a step gets step = 1 + ⌊rows scored so far without a step / this⌋:
    /// set it to the trainer's samples per training step (OpenRLHF: rollout batch × samples per prompt).
    public var samplesPerStep: Int
    /// Seconds before an idle keep-alive connection is closed (nil: never).
    public var idleTimeoutSeconds: Int?

    public static let defaultHost = "127.0.0.1"

    public init(host: String = HTTPFrontConfig.defaultHost, port: Int = 8000, token: String? = nil, insecure: Bool = false,
                maxBodyBytes: Int = 64 << 20, workers: Int = 2, queueCapacity: Int = 256, maxBatch: Int = 1 << 16,
                defaultReward: String = "rest", defaultFlags: [String: Bool] = [:], samplesPerStep: Int = 0,
                idleTimeoutSeconds: Int? = 300) {
        self.host = host; self.port = port; self.token = token; self.insecure = insecure
        self.maxBodyBytes = maxBodyBytes; self.workers = workers; self.queueCapacity = queueCapacity
        self.maxBatch = maxBatch; self.defaultReward = defaultReward; self.defaultFlags = defaultFlags
        self.samplesPerStep = samplesPerStep; self.idleTimeoutSeconds = idleTimeoutSeconds
    }

    /// Parses `--http`'s value: `PORT`, `HOST:PORT` or `[IPv6]:PORT`. A bare port binds loopback.
    public static func parseAddress(_ text: String) throws(HTTPFrontSetupError) -> (host: String, port: Int) {
        var host = defaultHost
        var portText = Substring(text)
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw .badAddress(text)
            }
            host = String(text[text.index(after: text.startIndex)..<close])
            portText = text[text.index(close, offsetBy: 2)...]
        } else if let colon = text.lastIndex(of: ":") {
            host = String(text[..<colon])
            portText = text[text.index(after: colon)...]
            if host.contains(":") { throw .badAddress(text) } // an IPv6 address needs brackets
        }
        guard !host.isEmpty, let port = Int(portText), (0...65535).contains(port) else { throw .badAddress(text) }
        return (host, port)
    }

    /// Whether `host` is reachable only from this machine (127.0.0.0/8, `localhost`, `::1`).
    public static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// Throws unless the bind is loopback, token-protected, or explicitly insecure; checks the limits.
    public func validate() throws(HTTPFrontSetupError) {
        guard workers >= 1, queueCapacity >= 1, maxBodyBytes >= 1, maxBatch >= 1, samplesPerStep >= 0 else {
            throw .badLimits("--http-workers, --http-queue, --http-max-body-mb and --max-batch must be ≥ 1, --http-samples-per-step ≥ 0")
        }
        if let token, token.isEmpty { throw .badLimits("--http-token must not be empty") }
        if !Self.isLoopback(host) && token == nil && !insecure { throw .insecureBind(host) }
    }
}

/// Errors that stop the HTTP front from starting.
public enum HTTPFrontSetupError: Error, CustomStringConvertible {
    case badAddress(String)
    case insecureBind(String)
    case badLimits(String)
    case bind(String)

    public var description: String {
        switch self {
        case .badAddress(let a): "bad --http address '\(a)' (use PORT, HOST:PORT or [IPv6]:PORT)"
        case .insecureBind(let h):
            "refusing to serve HTTP on \(h) without a token: it is reachable from other machines. Give --http-token, bind 127.0.0.1, or say --insecure"
        case .badLimits(let m): m
        case .bind(let m): "cannot bind the HTTP front: \(m)"
        }
    }
}
