/// Constants of the capture file format (protocol/PROTOCOL.md §Capture file format).
public enum CaptureFormat {
    /// First 8 bytes of every capture file.
    public static let fileMagic: [UInt8] = Array("RSCAP1\n\0".utf8)
    /// First 4 bytes of every record.
    public static let recordMagic: [UInt8] = Array("RSCR".utf8)
    /// magic (4) + body length (8) + CRC32 (4).
    public static let recordHeaderBytes = 16
    /// Flag bit: the request's logits / top-k frames were not stored (zero length); use the reply's entropy.
    public static let flagLogitsOmitted: UInt32 = 1
    /// Flag bit: the body ends with the engine's state before this request (``CaptureStateProvider``).
    public static let flagEngineState: UInt32 = 2
    /// File name extension.
    public static let fileExtension = "rscap"
}

/// One request/reply pair read back from a capture file.
public struct CaptureRecord: Sendable {
    public var timeMicros: UInt64
    public var flags: UInt32
    /// Request frames, header first (routing envelope removed).
    public var request: [[UInt8]]
    /// Reply frames, header first.
    public var reply: [[UInt8]]
    /// The engine's state before this request (e.g. the entropy curriculum), when captured.
    public var engineState: [UInt8]?
    /// Byte offset of the record in its file.
    public var offset: Int

    public init(timeMicros: UInt64, flags: UInt32, request: [[UInt8]], reply: [[UInt8]], engineState: [UInt8]? = nil, offset: Int = 0) {
        self.timeMicros = timeMicros; self.flags = flags; self.request = request; self.reply = reply
        self.engineState = engineState; self.offset = offset
    }

    public var logitsOmitted: Bool { flags & CaptureFormat.flagLogitsOmitted != 0 }
}

/// Why reading stopped before the end of a capture file.
public struct CaptureTailProblem: Sendable, Equatable, CustomStringConvertible {
    /// `truncated`: the file ends inside a record; `corrupt`: a record fails its checks.
    public enum Kind: String, Sendable { case truncated, corrupt }
    public var kind: Kind
    /// Offset of the first byte that is not part of a complete record.
    public var offset: Int
    public var message: String
    public var description: String { "\(kind.rawValue) record at byte \(offset): \(message)" }
}

/// Errors opening or writing a capture.
public enum CaptureError: Error, CustomStringConvertible {
    case cannotOpen(String, Int32)
    case notACapture(String)
    case writeFailed(String, Int32)

    public var description: String {
        switch self {
        case .cannotOpen(let p, let e): "cannot open capture \(p) (errno \(e))"
        case .notACapture(let p): "\(p) is not a rest-shaper capture file (bad magic)"
        case .writeFailed(let p, let e): "writing capture \(p) failed (errno \(e))"
        }
    }
}

/// A shaper with state that carries over between batches (the entropy curriculum): the capture
/// stores it before each request so replay can restore it and recompute exactly.
public protocol CaptureStateProvider: Sendable {
    /// The current state, serialised.
    func captureState() -> [UInt8]
    /// Restores a state written by ``captureState()``.
    func restoreCaptureState(_ bytes: [UInt8]) throws
}
