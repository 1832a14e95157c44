import CZmq
import Capture
import Wire
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A ZeroMQ failure, with libzmq's message.
public struct ZmqError: Error, CustomStringConvertible {
    public var what: String
    public var errno: Int32
    public var description: String { "\(what): \(String(cString: zmq_strerror(errno)))" }
    static func last(_ what: String) -> ZmqError { ZmqError(what: what, errno: zmq_errno()) }
}

/// Frames received from a socket, each a `zmq_msg_t` in stable heap storage (never copied by
/// value), read in place through ``raw(_:)``. Closed when the object goes away.
final class ZmqFrames: CaptureFrames, @unchecked Sendable {
    private(set) var msgs: [UnsafeMutablePointer<zmq_msg_t>]

    init(_ msgs: [UnsafeMutablePointer<zmq_msg_t>] = []) { self.msgs = msgs }

    deinit {
        for m in msgs { zmq_msg_close(m); m.deallocate() }
    }

    var count: Int { msgs.count }
    var totalBytes: Int { msgs.reduce(0) { $0 + zmq_msg_size($1) } }

    func raw(_ i: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: zmq_msg_data(msgs[i]), count: zmq_msg_size(msgs[i]))
    }

    var all: [UnsafeRawBufferPointer] { (0..<msgs.count).map(raw) }
    var captureFrames: [UnsafeRawBufferPointer] { all }

    /// Splits off the first `n` frames into a new object.
    func splitPrefix(_ n: Int) -> ZmqFrames {
        let head = ZmqFrames(Array(msgs.prefix(n)))
        msgs.removeFirst(n)
        return head
    }

    /// Shares the frames' content (zmq_msg_copy: reference-counted, no data copy for large frames).
    func shared() -> ZmqFrames {
        ZmqFrames(msgs.map { src in
            let m = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
            zmq_msg_init(m)
            zmq_msg_copy(m, src)
            return m
        })
    }

    /// Frames built from owned buffers, handed to ZeroMQ without a copy (freed by ZeroMQ).
    static func taking(_ buffers: [FrameBuffer]) -> ZmqFrames {
        ZmqFrames(buffers.map { b in
            let m = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
            let n = b.count
            if let p = b.detach() {
                zmq_msg_init_data(m, p, n, { data, _ in free(data) }, nil)
            } else {
                zmq_msg_init(m)
            }
            return m
        })
    }

    /// Frames copied from bytes (small messages).
    static func copying(_ frames: [[UInt8]]) -> ZmqFrames {
        ZmqFrames(frames.map { f in
            let m = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
            zmq_msg_init_size(m, f.count)
            if !f.isEmpty { f.withUnsafeBytes { _ = memcpy(zmq_msg_data(m), $0.baseAddress!, f.count) } }
            return m
        })
    }
}

/// A ZeroMQ socket owned by one thread at a time.
final class ZmqSocket: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    init(context: UnsafeMutableRawPointer, type: Int32) throws {
        guard let s = zmq_socket(context, type) else { throw ZmqError.last("zmq_socket") }
        handle = s
    }

    func set(_ option: Int32, _ value: Int32) {
        var v = value
        zmq_setsockopt(handle, option, &v, MemoryLayout<Int32>.size)
    }

    /// An int64 option (ZMQ_MAXMSGSIZE).
    func setInt64(_ option: Int32, _ value: Int64) {
        var v = value
        zmq_setsockopt(handle, option, &v, MemoryLayout<Int64>.size)
    }

    func set(_ option: Int32, string: String) throws {
        let rc = string.withCString { zmq_setsockopt(handle, option, $0, strlen($0)) }
        guard rc == 0 else { throw ZmqError.last("zmq_setsockopt(\(option))") }
    }

    func bind(_ endpoint: String) throws {
        guard zmq_bind(handle, endpoint) == 0 else { throw ZmqError.last("bind \(endpoint)") }
    }

    func connect(_ endpoint: String) throws {
        guard zmq_connect(handle, endpoint) == 0 else { throw ZmqError.last("connect \(endpoint)") }
    }

    var lastEndpoint: String {
        var buf = [CChar](repeating: 0, count: 512)
        var n = buf.count
        zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buf, &n)
        return buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    func close(lingerMillis: Int32 = 0) {
        set(ZMQ_LINGER, lingerMillis)
        zmq_close(handle)
    }

    /// Receives one multipart message; nil when `flags` has ZMQ_DONTWAIT and nothing is waiting,
    /// or when the call was interrupted.
    func receive(flags: Int32 = 0) -> ZmqFrames? {
        var msgs: [UnsafeMutablePointer<zmq_msg_t>] = []
        while true {
            let m = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
            zmq_msg_init(m)
            if zmq_msg_recv(m, handle, msgs.isEmpty ? flags : 0) < 0 {
                zmq_msg_close(m); m.deallocate()
                if msgs.isEmpty { return nil }
                continue // rest of a multipart message is always there; retry on EINTR
            }
            msgs.append(m)
            if zmq_msg_more(m) == 0 { break }
        }
        return ZmqFrames(msgs)
    }

    /// Sends all frames as one multipart message (ownership of their content moves to ZeroMQ).
    @discardableResult
    func send(_ parts: [ZmqFrames], dontWait: Bool = false) -> Bool {
        let all = parts.flatMap(\.msgs)
        var ok = true
        for (i, m) in all.enumerated() {
            var flags: Int32 = i < all.count - 1 ? ZMQ_SNDMORE : 0
            if dontWait { flags |= ZMQ_DONTWAIT }
            while zmq_msg_send(m, handle, flags) < 0 {
                if zmq_errno() == EINTR { continue }
                ok = false; break
            }
            if !ok { break }
        }
        return ok
    }
}

/// Runs `body` on a new POSIX thread.
func spawnThread(_ body: @escaping @Sendable () -> Void) -> pthread_t {
    final class Box { let f: @Sendable () -> Void; init(_ f: @escaping @Sendable () -> Void) { self.f = f } }
    var t = pthread_t()
    let arg = Unmanaged.passRetained(Box(body)).toOpaque()
    pthread_create(&t, nil, { p in
        Unmanaged<Box>.fromOpaque(p!).takeRetainedValue().f()
        return nil
    }, arg)
    return t
}

/// Monotonic clock in nanoseconds.
func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
