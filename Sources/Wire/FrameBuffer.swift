#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CKernels

/// An owned `malloc` block holding one frame. A transport can take the memory over with
/// ``detach()`` (and later `free` it, e.g. from ZeroMQ's free callback) so the frame is sent
/// without another copy.
public final class FrameBuffer: @unchecked Sendable {
    public let count: Int
    private var pointer: UnsafeMutableRawPointer?

    /// Uninitialised storage of `count` bytes.
    public init(count: Int) {
        self.count = count
        pointer = malloc(max(count, 1))
    }

    /// A copy of `bytes`.
    public convenience init<C: Collection>(bytes: C) where C.Element == UInt8 {
        self.init(count: bytes.count)
        UnsafeMutableRawBufferPointer(start: pointer, count: count).copyBytes(from: bytes)
    }

    /// A copy of raw memory.
    public convenience init(copying raw: UnsafeRawBufferPointer) {
        self.init(count: raw.count)
        if raw.count > 0 { memcpy(pointer!, raw.baseAddress!, raw.count) }
    }

    deinit { free(pointer) }

    /// The bytes (empty once detached).
    public var raw: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: pointer, count: pointer == nil ? 0 : count) }
    public var mutableRaw: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(start: pointer, count: pointer == nil ? 0 : count) }
    public var bytes: [UInt8] { Array(raw) }

    /// Gives up ownership of the memory: the caller must `free()` it. The buffer is empty afterwards.
    public func detach() -> UnsafeMutableRawPointer? {
        defer { pointer = nil }
        return pointer
    }
}

/// Builds an outgoing message: tensors are appended as frames (split into chunks of at most
/// `maxFrameBytes`, each a whole number of elements) and described for the header.
public struct MessageBuilder {
    public let maxFrameBytes: Int
    public private(set) var frames: [FrameBuffer] = []
    public private(set) var tensors: [TensorDescriptor] = []

    /// 16 MiB: larger ZeroMQ frames defeat glibc's block reuse (see NATIVE-NOTES).
    public static let defaultMaxFrameBytes = 16 << 20

    public init(maxFrameBytes: Int = MessageBuilder.defaultMaxFrameBytes) { self.maxFrameBytes = maxFrameBytes }

    /// Appends a tensor from raw little-endian bytes.
    public mutating func append(_ name: String, _ dtype: WireDType, shape: [Int], raw: UnsafeRawBufferPointer) {
        let chunk = max(dtype.byteWidth, maxFrameBytes - maxFrameBytes % dtype.byteWidth)
        var indices: [Int] = []
        var offset = 0
        repeat {
            let n = min(chunk, raw.count - offset)
            frames.append(FrameBuffer(copying: n == 0 ? UnsafeRawBufferPointer(start: nil, count: 0) : UnsafeRawBufferPointer(rebasing: raw[offset..<offset + n])))
            indices.append(frames.count) // the header will be frame 0
            offset += n
        } while offset < raw.count
        tensors.append(TensorDescriptor(name: name, dtype: dtype, shape: shape, frames: indices))
    }

    public mutating func append<T>(_ name: String, _ dtype: WireDType, shape: [Int], values: [T]) {
        values.withUnsafeBytes { append(name, dtype, shape: shape, raw: $0) }
    }

    /// The complete message: `header` first, then the tensor frames.
    public func finish(header: [UInt8]) -> [FrameBuffer] { [FrameBuffer(bytes: header)] + frames }
}

/// Read access to the tensors of a received message (frames borrowed, never copied here).
public struct IncomingTensors {
    public let frames: [UnsafeRawBufferPointer]
    public let descriptors: [TensorDescriptor]

    public init(frames: [UnsafeRawBufferPointer], descriptors: [TensorDescriptor]) {
        self.frames = frames; self.descriptors = descriptors
    }

    public subscript(_ name: String) -> TensorDescriptor? { descriptors.first { $0.name == name } }

    /// Checks the byte count and element alignment of a tensor's frames against its shape.
    public func checkBytes(_ d: TensorDescriptor) throws {
        guard let expected = d.byteCount else { throw WireError(.limit, "\(d.name): shape \(d.shape) overflows") }
        var total = 0
        for f in d.frames {
            let n = frames[f].count
            guard n % d.dtype.byteWidth == 0 else {
                throw WireError(.shape, "\(d.name): frame \(f) holds \(n) bytes, not a whole number of \(d.dtype.rawValue) elements")
            }
            total += n
        }
        guard total == expected else {
            throw WireError(.shape, "\(d.name): shape \(d.shape) of \(d.dtype.rawValue) needs \(expected) bytes, frames hold \(total)")
        }
    }

    /// Calls `body(chunk, firstElementIndex)` for each frame of the tensor, in order.
    public func forEachChunk(_ d: TensorDescriptor, _ body: (UnsafeRawBufferPointer, Int) throws -> Void) rethrows {
        var element = 0
        for f in d.frames {
            let chunk = frames[f]
            try body(chunk, element)
            element += chunk.count / d.dtype.byteWidth
        }
    }

    /// The tensor's raw bytes, concatenated (one copy).
    public func bytes(_ d: TensorDescriptor) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(d.byteCount ?? 0)
        for f in d.frames { out.append(contentsOf: frames[f]) }
        return out
    }

    /// The tensor's elements as `T`, whose width must be the dtype's (one copy; little-endian host).
    public func elements<T: BitwiseCopyable>(_ d: TensorDescriptor, as _: T.Type) -> [T] {
        let n = d.elementCount ?? 0
        return [T](unsafeUninitializedCapacity: n) { buf, count in
            forEachChunk(d) { chunk, at in
                if chunk.count > 0 { memcpy(buf.baseAddress! + at, chunk.baseAddress!, chunk.count) }
            }
            count = n
        }
    }

    /// fp32 values (one copy; little-endian host).
    public func floats(_ d: TensorDescriptor) -> [Float] { elements(d, as: Float.self) }

    /// int32 values (one copy; little-endian host).
    public func int32s(_ d: TensorDescriptor) -> [Int32] { elements(d, as: Int32.self) }

    /// Integer-like or float values converted to `Float` (masks).
    public func floatsConverting(_ d: TensorDescriptor) -> [Float] {
        if d.dtype == .float32 { return floats(d) }
        let n = d.elementCount ?? 0
        return [Float](unsafeUninitializedCapacity: n) { buf, count in
            forEachChunk(d) { chunk, at in
                let m = chunk.count / d.dtype.byteWidth
                for i in 0..<m {
                    let v: Float
                    switch d.dtype {
                    case .uint8, .bool: v = Float(chunk[i])
                    case .int32: v = Float(chunk.loadUnaligned(fromByteOffset: i * 4, as: Int32.self))
                    case .int64: v = Float(chunk.loadUnaligned(fromByteOffset: i * 8, as: Int64.self))
                    case .float16: v = ck_f16_to_f32(UInt16(littleEndian: chunk.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)))
                    case .bfloat16: v = ck_bf16_to_f32(UInt16(littleEndian: chunk.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)))
                    case .float32: v = chunk.loadUnaligned(fromByteOffset: i * 4, as: Float.self)
                    }
                    buf[at + i] = v
                }
            }
            count = n
        }
    }

    /// int32/int64 values, exactly (no conversion through a floating-point type).
    public func integers(_ d: TensorDescriptor) -> [Int64] {
        let n = d.elementCount ?? 0
        return [Int64](unsafeUninitializedCapacity: n) { buf, count in
            forEachChunk(d) { chunk, at in
                let m = chunk.count / d.dtype.byteWidth
                for i in 0..<m {
                    switch d.dtype {
                    case .int32: buf[at + i] = Int64(chunk.loadUnaligned(fromByteOffset: i * 4, as: Int32.self))
                    case .int64: buf[at + i] = chunk.loadUnaligned(fromByteOffset: i * 8, as: Int64.self)
                    case .uint8, .bool: buf[at + i] = Int64(chunk[i])
                    case .float32, .float16, .bfloat16: buf[at + i] = 0 // not an integer dtype: callers check dtypes first
                    }
                }
            }
            count = n
        }
    }

    /// int32/int64 values as `Int32`, each checked against `0..<bound` (else a `token_id` error).
    public func tokenIDs(_ d: TensorDescriptor, bound: Int) throws -> [Int32] {
        let n = d.elementCount ?? 0
        var bad: (Int, Int64)? = nil
        let out = [Int32](unsafeUninitializedCapacity: n) { buf, count in
            forEachChunk(d) { chunk, at in
                let m = chunk.count / d.dtype.byteWidth
                if d.dtype == .int32 {
                    for i in 0..<m {
                        let v = chunk.loadUnaligned(fromByteOffset: i * 4, as: Int32.self)
                        if v < 0 || Int(v) >= bound, bad == nil { bad = (at + i, Int64(v)) }
                        buf[at + i] = v
                    }
                } else {
                    for i in 0..<m {
                        let v = chunk.loadUnaligned(fromByteOffset: i * 8, as: Int64.self)
                        if v < 0 || v >= Int64(bound), bad == nil { bad = (at + i, v) }
                        buf[at + i] = Int32(truncatingIfNeeded: v)
                    }
                }
            }
            count = n
        }
        if let (i, v) = bad {
            throw WireError(.tokenID, "\(d.name)[\(i)] = \(v) is outside the vocabulary 0..<\(bound)")
        }
        return out
    }
}
