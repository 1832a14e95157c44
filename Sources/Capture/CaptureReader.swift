#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a capture file record by record. Reading stops at the first incomplete or corrupt record;
/// ``tailProblem`` then says where and why, and every record returned before it is intact.
public final class CaptureReader {
    public let path: String
    private let file: UnsafeMutablePointer<FILE>
    private var offset: Int
    /// File size in bytes (for progress reporting).
    public let fileSize: Int
    /// Set when reading stopped before the end of the file.
    public private(set) var tailProblem: CaptureTailProblem?
    /// Bytes consumed so far.
    public var bytesRead: Int { offset }

    public init(path: String) throws {
        guard let f = fopen(path, "rb") else { throw CaptureError.cannotOpen(path, errno) }
        file = f
        self.path = path
        fseek(f, 0, SEEK_END); fileSize = ftell(f); fseek(f, 0, SEEK_SET)
        var magic = [UInt8](repeating: 0, count: 8)
        let n = magic.withUnsafeMutableBytes { fread($0.baseAddress, 1, 8, f) }
        guard n == 8, magic == CaptureFormat.fileMagic else { fclose(f); throw CaptureError.notACapture(path) }
        offset = 8
    }

    deinit { fclose(file) }

    private func read(_ n: Int) -> [UInt8]? {
        guard n >= 0 else { return nil }
        var buf = [UInt8](repeating: 0, count: n)
        let got = buf.withUnsafeMutableBytes { n == 0 ? 0 : fread($0.baseAddress, 1, n, file) }
        return got == n ? buf : nil
    }

    /// The next complete record, or nil at the end of the file or at a bad record.
    public func next() -> CaptureRecord? {
        guard tailProblem == nil, offset < fileSize else { return nil }
        let start = offset
        func fail(_ k: CaptureTailProblem.Kind, _ m: String) -> CaptureRecord? {
            tailProblem = CaptureTailProblem(kind: k, offset: start, message: m); return nil
        }
        guard fileSize - start >= CaptureFormat.recordHeaderBytes, let head = read(CaptureFormat.recordHeaderBytes) else {
            return fail(.truncated, "\(fileSize - start) bytes left, a record header needs 16")
        }
        guard Array(head[0..<4]) == CaptureFormat.recordMagic else { return fail(.corrupt, "bad record magic") }
        let rawLength = Self.u64(head, 4), crc = UInt32(truncatingIfNeeded: Self.u64(head, 12, bytes: 4))
        // Compared as unsigned before any conversion: a crafted length with the top bit set must
        // not turn negative.
        guard rawLength <= UInt64(fileSize - start - CaptureFormat.recordHeaderBytes) else {
            return fail(.truncated, "record body of \(rawLength) bytes runs past the end of the file")
        }
        let length = Int(rawLength) // exact: at most the file size
        guard let body = read(length) else { return fail(.truncated, "short read") }
        guard CRC32.checksum(body) == crc else { return fail(.corrupt, "CRC32 mismatch") }
        offset = start + CaptureFormat.recordHeaderBytes + length
        guard let rec = Self.parseBody(body, offset: start) else { return fail(.corrupt, "body does not parse") }
        return rec
    }

    /// A little-endian unsigned integer of `bytes` bytes (≤ 8) at `at`; the caller checks the range.
    static func u64(_ b: [UInt8], _ at: Int, bytes: Int = 8) -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<bytes { v |= UInt64(b[at + i]) << UInt64(8 * i) }
        return v
    }

    /// Parses a record body (CRC already checked); nil when any count or length does not fit in
    /// the bytes that remain. Every length is compared as an unsigned value before it is used.
    static func parseBody(_ b: [UInt8], offset: Int) -> CaptureRecord? {
        var at = 0
        func take(_ n: Int) -> UInt64? { guard b.count - at >= n else { return nil }; defer { at += n }; return u64(b, at, bytes: n) }
        /// `len` bytes, when that many remain.
        func bytes(_ len: UInt64) -> [UInt8]? {
            guard len <= UInt64(b.count - at) else { return nil }
            let n = Int(len) // exact: at most b.count
            defer { at += n }
            return Array(b[at..<at + n])
        }
        func frames() -> [[UInt8]]? {
            // Each frame needs at least its 8-byte length, which bounds a crafted count.
            guard let n = take(4), n <= UInt64((b.count - at) / 8) else { return nil }
            var out: [[UInt8]] = []
            out.reserveCapacity(Int(n))
            for _ in 0..<n {
                guard let len = take(8), let f = bytes(len) else { return nil }
                out.append(f)
            }
            return out
        }
        guard let t = take(8), let flags = take(4).map({ UInt32(truncatingIfNeeded: $0) }), let req = frames(), let rep = frames() else { return nil }
        var state: [UInt8]? = nil
        if flags & CaptureFormat.flagEngineState != 0 {
            guard let len = take(8), let s = bytes(len) else { return nil }
            state = s
        }
        guard at == b.count else { return nil }
        return CaptureRecord(timeMicros: t, flags: flags, request: req, reply: rep, engineState: state, offset: offset)
    }
}
