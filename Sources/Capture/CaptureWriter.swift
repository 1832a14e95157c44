#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Wire

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
/// path never waits on the disk. `close()` writes everything queued, flushes and fsyncs.
public final class CaptureWriter: @unchecked Sendable {
    public let path: String
    private let file: UnsafeMutablePointer<FILE>
    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()
    private var queue: [(UInt64, UInt32, any CaptureFrames, any CaptureFrames, Set<Int>, [UInt8]?)] = []
    private var closing = false
    private var thread: pthread_t? = nil
    private var failure: Int32 = 0
    /// Records written so far.
    public private(set) var recordsWritten = 0

    /// Creates (or appends to) the capture file at `path`.
    public init(path: String) throws {
        guard let f = fopen(path, "ab") else { throw CaptureError.cannotOpen(path, errno) }
        self.path = path
        file = f
        if ftell(f) == 0 {
            CaptureFormat.fileMagic.withUnsafeBytes { _ = fwrite($0.baseAddress, 1, $0.count, f) }
            fflush(f)
        }
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&cond, nil)
        let unmanaged = Unmanaged.passRetained(self)
        var t = pthread_t()
        pthread_create(&t, nil, { arg in
            let w = Unmanaged<CaptureWriter>.fromOpaque(arg!).takeRetainedValue()
            w.loop()
            return nil
        }, unmanaged.toOpaque())
        thread = t
    }

    /// A new capture file `DIR/capture-<unix-seconds>-<pid>.rscap` (the directory is created if missing).
    public convenience init(directory: String) throws {
        mkdir(directory, 0o755)
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        try self.init(path: "\(directory)/capture-\(ts.tv_sec)-\(getpid()).\(CaptureFormat.fileExtension)")
    }

    /// Queues one record. Request frames whose index is in `omit` are stored with length 0;
    /// `engineState` is the shaper's state before the request (see ``CaptureStateProvider``).
    public func append(request: any CaptureFrames, reply: any CaptureFrames, omit: Set<Int> = [],
                       engineState: [UInt8]? = nil, timeMicros: UInt64? = nil) {
        let t = timeMicros ?? Self.nowMicros()
        var flags: UInt32 = omit.isEmpty ? 0 : CaptureFormat.flagLogitsOmitted
        if engineState != nil { flags |= CaptureFormat.flagEngineState }
        pthread_mutex_lock(&mutex)
        queue.append((t, flags, request, reply, omit, engineState))
        pthread_cond_signal(&cond)
        pthread_mutex_unlock(&mutex)
    }

    /// Writes every queued record, flushes, fsyncs and closes the file. Throws if any write failed.
    public func close() throws {
        pthread_mutex_lock(&mutex)
        closing = true
        pthread_cond_signal(&cond)
        pthread_mutex_unlock(&mutex)
        if let t = thread { pthread_join(t, nil); thread = nil }
        fflush(file)
        fsync(fileno(file))
        fclose(file)
        if failure != 0 { throw CaptureError.writeFailed(path, failure) }
    }

    public static func nowMicros() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
    }

    private func loop() {
        while true {
            pthread_mutex_lock(&mutex)
            while queue.isEmpty && !closing { pthread_cond_wait(&cond, &mutex) }
            if queue.isEmpty && closing { pthread_mutex_unlock(&mutex); return }
            let batch = queue
            queue.removeAll(keepingCapacity: true)
            pthread_mutex_unlock(&mutex)
            for (t, flags, req, rep, omit, state) in batch { write(t, flags, req.captureFrames, rep.captureFrames, omit, state) }
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
        if ok { recordsWritten += 1 } else if failure == 0 { failure = errno }
    }
}
