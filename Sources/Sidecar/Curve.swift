import CZmq
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// CURVE keys in Z85 (40 printable characters for 32 bytes), as `rest-shaper keygen` writes them.
public enum CurveKeys {
    /// A new keypair (public, secret).
    public static func generate() throws -> (publicKey: String, secretKey: String) {
        guard zmq_has("curve") != 0 else { throw SidecarError.curveUnavailable }
        var pub = [CChar](repeating: 0, count: 41), sec = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&pub, &sec) == 0 else { throw SidecarError.zmq(ZmqError.last("zmq_curve_keypair").description) }
        return (string(pub), string(sec))
    }

    /// The public key of a Z85 secret key.
    public static func publicKey(secret: String) throws -> String {
        guard isZ85Key(secret) else { throw SidecarError.badCurveKey }
        var pub = [CChar](repeating: 0, count: 41)
        guard zmq_curve_public(&pub, secret) == 0 else { throw SidecarError.badCurveKey }
        return string(pub)
    }

    /// Whether `key` is 40 characters of the Z85 alphabet that decode to 32 bytes.
    public static func isZ85Key(_ key: String) -> Bool {
        guard key.utf8.count == 40 else { return false }
        var out = [UInt8](repeating: 0, count: 32)
        return zmq_z85_decode(&out, key) != nil
    }

    /// The Z85 text of 32 key bytes.
    static func z85(_ bytes: UnsafeRawBufferPointer) -> String? {
        guard bytes.count == 32, let base = bytes.baseAddress else { return nil }
        var out = [CChar](repeating: 0, count: 41)
        guard zmq_z85_encode(&out, base.assumingMemoryBound(to: UInt8.self), 32) != nil else { return nil }
        return string(out)
    }

    /// An allow-list file: one Z85 public key per line, optionally followed by white space and a
    /// note; blank lines and lines starting with `#` are comments (Z85 itself uses `#`, so a
    /// 40-character key is read as a key even when it starts with one).
    public static func allowList(path: String) throws -> Set<String> {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var keys = Set<String>()
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            let first = String(line.prefix { !$0.isWhitespace })
            if isZ85Key(first) { keys.insert(first); continue }
            if line.hasPrefix("#") { continue }
            throw SidecarError.badAllowList("\(path):\(n + 1): not a 40-character Z85 public key")
        }
        return keys
    }

    private static func string(_ chars: [CChar]) -> String {
        String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The ZAP handler (ZeroMQ RFC 27) of a CURVE server with an allow-list: a REP socket on
/// `inproc://zeromq.zap.01` in the server's context, served by the I/O thread. ZeroMQ asks it
/// about every CURVE handshake; a client whose public key is not on the list is refused (its
/// connection never delivers a message), logged and counted.
final class ZapHandler {
    static let endpoint = "inproc://zeromq.zap.01"
    let socket: ZmqSocket
    let allowed: Set<String>
    let logger: Logger
    let onRefusal: () -> Void
    private var refusalsByKey: [String: Int] = [:]

    init(context: UnsafeMutableRawPointer, allowed: Set<String>, logger: Logger, onRefusal: @escaping () -> Void) throws {
        self.allowed = allowed; self.logger = logger; self.onRefusal = onRefusal
        socket = try ZmqSocket(context: context, type: ZMQ_REP)
        socket.set(ZMQ_LINGER, 0)
        try socket.bind(Self.endpoint)
    }

    /// Answers every waiting ZAP request.
    func service() {
        for _ in 0..<64 {
            guard let m = socket.receive(flags: ZMQ_DONTWAIT) else { return }
            // version, request id, domain, address, identity, mechanism, credentials…
            guard m.count >= 6 else {
                socket.send([ZmqFrames.copying([Array("1.0".utf8), [], Array("500".utf8), Array("malformed ZAP request".utf8), [], []])])
                continue
            }
            let requestID = Array(m.raw(1))
            let address = String(decoding: m.raw(3), as: UTF8.self)
            let mechanism = String(decoding: m.raw(5), as: UTF8.self)
            var key: String? = nil
            if mechanism == "CURVE", m.count >= 7 { key = CurveKeys.z85(m.raw(6)) }
            let ok = key.map { allowed.contains($0) } ?? false
            if ok {
                socket.send([ZmqFrames.copying([Array("1.0".utf8), requestID, Array("200".utf8), Array("OK".utf8),
                                                Array((key ?? "").utf8), []])])
            } else {
                onRefusal()
                let k = key ?? "(\(mechanism))"
                let n = (refusalsByKey[k] ?? 0) + 1
                if refusalsByKey.count < 4096 || refusalsByKey[k] != nil { refusalsByKey[k] = n }
                // A refused client keeps reconnecting: log its 1st, 2nd, 4th, 8th, … attempt.
                if n & (n - 1) == 0 {
                    logger.warning("refused a client whose key is not on the allow-list", metadata: [
                        "client_key": "\(k)", "address": "\(address)", "attempts": "\(n)"])
                }
                socket.send([ZmqFrames.copying([Array("1.0".utf8), requestID, Array("400".utf8),
                                                Array("client key not allowed".utf8), [], []])])
            }
        }
    }

    func close() { socket.close() }
}
