import CZmq
import Wire

/// A minimal blocking DEALER client (Swift tools and tests; Python users have `rest_shaper_client`).
/// Not thread-safe: one client per thread.
public final class SidecarClient {
    private let context: UnsafeMutableRawPointer
    private let socket: ZmqSocket
    public let timeoutMillis: Int

    public init(endpoint: String, timeoutMillis: Int = 30_000, curveServerKey: String? = nil) throws {
        guard let ctx = zmq_ctx_new() else { throw SidecarError.zmq("zmq_ctx_new failed") }
        context = ctx
        socket = try ZmqSocket(context: ctx, type: ZMQ_DEALER)
        socket.set(ZMQ_SNDBUF, 4 << 20)
        socket.set(ZMQ_RCVBUF, 4 << 20)
        if let key = curveServerKey {
            var pub = [CChar](repeating: 0, count: 41), sec = [CChar](repeating: 0, count: 41)
            zmq_curve_keypair(&pub, &sec)
            try socket.set(ZMQ_CURVE_SERVERKEY, string: key)
            try socket.set(ZMQ_CURVE_PUBLICKEY, string: String(decoding: pub.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self))
            try socket.set(ZMQ_CURVE_SECRETKEY, string: String(decoding: sec.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self))
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
