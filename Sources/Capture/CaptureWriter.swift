#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization
import Wire
import WorkQueue

/// Frames handed to the capture writer; the object keeps their memory alive until written.
public protocol CaptureFrames: AnyObject, Sendable {
    var captureFrames: [UnsafeRawBufferPointer] { get }
}

/// Owned frames (tests, tools): heap copies that live as long as this object.
public final class OwnedFrames: CaptureFrames, @unchecked Sendable {
    private let storage: [FrameBuffer]
    public init(_ frames: [[UInt8]]) { storage = frames.map { FrameBuffer(bytes: $0) } }
    public init(buffers: [FrameBuffer]) { storage = buffers }
    public var captureFrames: [UnsafeRawBufferPointer] { storage.map(\.raw) }
}

/// Appends request/reply records to a capture file from a background thread, so the serving
/// path never waits on the disk. The queue between them is bounded (records and bytes): when the
/// disk falls behind, ``append(request:reply:omit:engineState:timeMicros:)`` drops the record,
/// counts it (``droppedRecords``) and returns false, rather than blocking the server or growing
/// without limit. Every record written is whole; a dropped one is simply absent from the file.
/// `close()` writes everything queued, flushes and fsyncs.
public final class CaptureWriter: @unchecked Sendable {
    private struct Record {
        let time: UInt64, flags: UInt32
        let request: any CaptureFrames, reply: any CaptureFrames
        let omit: Set<Int>, state: [UInt8]?
    }

    public let path: String
    private let file: UnsafeMutablePointer<FILE>
    private let queue: BoundedQueue<Record>
    private var thread: pthread_t? = nil
    private let failure = Atomic<Int32>(0)
    private let written = Atomic<Int>(0)
    private let dropped = Atomic<Int>(0)
    /// Records written so far.
    public var recordsWritten: Int { written.load(ordering: .relaxed) }
    /// Records dropped because the queue was full.
    public var droppedRecords: Int { dropped.load(ordering: .relaxed) }

    /// Default bound of the queue: records waiting to be written.
    public static let defaultCapacity = 4096
    /// Default bound of the queue: bytes of the frames of the records waiting.
    public static let defaultCostLimit = 256 << 20

    /// Creates (or appends to) the capture file at `path`; at most `capacity` records and
    /// `costLimit` bytes of frames wait to be written.
    public init(path: String, capacity: Int = CaptureWriter.defaultCapacity, costLimit: Int = CaptureWriter.defaultCostLimit) throws {
        guard let f = fopen(path, "ab") else { throw CaptureError.cannotOpen(path, errno) }
        self.path = path
        file = f
        queue = BoundedQueue(capacity: capacity, costLimit: costLimit)
        if ftell(f) <= 0 { // a new file (or a pipe, where ftell fails): the stream starts with the magic
            CaptureFormat.fileMagic.withUnsafeBytes { _ = fwrite($0.baseAddress, 1, $0.count, f) }
            fflush(f)
        }
        let unmanaged = Unmanaged.passRetained(self)
        var t = pthread_t()
        pthread_create(&t, nil, { arg in
            guard let arg else { return nil }
            let w = Unmanaged<CaptureWriter>.fromOpaque(arg).takeRetainedValue()
            w.loop()
            return nil
        }, unmanaged.toOpaque())
        thread = t
    }

    /// A new capture file `DIR/capture-<unix-seconds>-<pid>.rscap` (the directory is created if missing).
    public convenience init(directory: String, capacity: Int = CaptureWriter.defaultCapacity,
                            costLimit: Int = CaptureWriter.defaultCostLimit) throws {
        mkdir(directory, 0o755)
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        try self.init(path: "\(directory)/capture-\(ts.tv_sec)-\(getpid()).\(CaptureFormat.fileExtension)",
                      capacity: capacity, costLimit: costLimit)
    }

    /// Queues one record; false (and the record counted in ``droppedRecords``) when the queue is
    /// full. Request frames whose index is in `omit` are stored with length 0; `engineState` is
    /// the shaper's state before the request (see ``CaptureStateProvider``).
    @discardableResult
    public func append(request: any CaptureFrames, reply: any CaptureFrames, omit: Set<Int> = [],
                       engineState: [UInt8]? = nil, timeMicros: UInt64? = nil) -> Bool {
        let t = timeMicros ?? Self.nowMicros()
        var flags: UInt32 = omit.isEmpty ? 0 : CaptureFormat.flagLogitsOmitted
        if engineState != nil { flags |= CaptureFormat.flagEngineState }
        var bytes = engineState?.count ?? 0
        for (i, f) in request.captureFrames.enumerated() where !omit.contains(i) { bytes += f.count }
        for f in reply.captureFrames { bytes += f.count }
        let ok = queue.tryPush(Record(time: t, flags: flags, request: request, reply: reply, omit: omit, state: engineState), cost: bytes)
        if !ok { dropped.wrappingAdd(1, ordering: .relaxed) }
        return ok
    }

    /// Writes every queued record, flushes, fsyncs and closes the file. Throws if any write failed.
    public func close() throws {
        queue.close()
        if let t = thread { pthread_join(t, nil); thread = nil }
        fflush(file)
        fsync(fileno(file))
        fclose(file)
        let f = failure.load(ordering: .relaxed)
        if f != 0 { throw CaptureError.writeFailed(path, f) }
    }

    public static func nowMicros() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
    }

    private func loop() {
        while true {
            let batch = queue.popAll()
            if batch.isEmpty { return } // closed and drained
            for r in batch { write(r.time, r.flags, r.request.captureFrames, r.reply.captureFrames, r.omit, r.state) }
            fflush(file)
        }
    }

    private enum Segment { case own([UInt8]), borrowed(UnsafeRawBufferPointer) }

    private func write(_ time: UInt64, _ flags: UInt32, _ req: [UnsafeRawBufferPointer], _ rep: [UnsafeRawBufferPointer],
                       _ omit: Set<Int>, _ state: [UInt8]?) {
        // Body: u64 time, u32 flags, u32 n, (u64 len, bytes)*, u32 n, (u64 len, bytes)* [, u64 len, state].
        func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        var segs: [Segment] = [.own(le(time) + le(flags) + le(UInt32(req.count)))]
        for (i, f) in req.enumerated() {
            let keep = !omit.contains(i)
            segs.append(.own(le(UInt64(keep ? f.count : 0))))
            if keep && f.count > 0 { segs.append(.borrowed(f)) }
        }
        segs.append(.own(le(UInt32(rep.count))))
        for f in rep {
            segs.append(.own(le(UInt64(f.count))))
            if f.count > 0 { segs.append(.borrowed(f)) }
        }
        if let state { segs.append(.own(le(UInt64(state.count)) + state)) }
        var crc = CRC32()
        var length = 0
        for s in segs {
            switch s {
            case .own(let b): crc.update(b); length += b.count
            case .borrowed(let b): crc.update(b); length += b.count
            }
        }
        var ok = true
        func put(_ b: UnsafeRawBufferPointer) { if b.count > 0, fwrite(b.baseAddress, 1, b.count, file) != b.count { ok = false } }
        (CaptureFormat.recordMagic + le(UInt64(length)) + le(crc.value)).withUnsafeBytes { put($0) }
        for s in segs {
            switch s {
            case .own(let b): b.withUnsafeBytes { put($0) }
            case .borrowed(let b): put(b)
            }
        }
        if ok { written.wrappingAdd(1, ordering: .relaxed) } else { _ = failure.compareExchange(expected: 0, desired: errno, ordering: .relaxed) }
    }
}
