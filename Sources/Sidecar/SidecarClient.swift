import CZmq
import Wire

/// A minimal blocking DEALER client (Swift tools and tests; Python users have `rest_shaper_client`).
/// Not thread-safe: one client per thread.
public final class SidecarClient {
    private let context: UnsafeMutableRawPointer
    private let socket: ZmqSocket
    public let timeoutMillis: Int

    /// With `curveServerKey` the connection uses CURVE: with this client's own keypair
    /// (`curvePublicKey`, `curveSecretKey`, what a server's allow-list admits), or a fresh one
    /// (encryption only).
    public init(endpoint: String, timeoutMillis: Int = 30_000, curveServerKey: String? = nil,
                curvePublicKey: String? = nil, curveSecretKey: String? = nil) throws {
        guard let ctx = zmq_ctx_new() else { throw SidecarError.zmq("zmq_ctx_new failed") }
        context = ctx
        socket = try ZmqSocket(context: ctx, type: ZMQ_DEALER)
        socket.set(ZMQ_SNDBUF, 4 << 20)
        socket.set(ZMQ_RCVBUF, 4 << 20)
        if let key = curveServerKey {
            let own: (publicKey: String, secretKey: String)
            if let curvePublicKey, let curveSecretKey { own = (curvePublicKey, curveSecretKey) } else { own = try CurveKeys.generate() }
            try socket.set(ZMQ_CURVE_SERVERKEY, string: key)
            try socket.set(ZMQ_CURVE_PUBLICKEY, string: own.publicKey)
            try socket.set(ZMQ_CURVE_SECRETKEY, string: own.secretKey)
        }
        try socket.connect(endpoint)
        self.timeoutMillis = timeoutMillis
    }

    deinit {
        socket.close()
        zmq_ctx_term(context)
    }

    /// Sends one request (an empty delimiter frame first, as REQ would).
    public func send(_ frames: [[UInt8]]) {
        socket.send([ZmqFrames.copying([[]] + frames)])
    }

    /// Receives one reply without its delimiter; throws ``WireError`` `timeout` when none arrives in time.
    public func receive() throws -> [[UInt8]] {
        var item = zmq_pollitem_t(socket: socket.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)
        guard zmq_poll(&item, 1, timeoutMillis) > 0, let m = socket.receive() else {
            throw WireError(.timeout, "no reply within \(timeoutMillis) ms")
        }
        var frames = m.all.map { Array($0) }
        if frames.first?.isEmpty == true { frames.removeFirst() }
        return frames
    }

    public func request(_ frames: [[UInt8]]) throws -> [[UInt8]] {
        send(frames)
        return try receive()
    }
}
