#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Minimal NumPy `.npy` support (format versions 1–3, little-endian, C order): the header parser,
/// a float32 writer, and a memory-mapped logits reader for the `entropy` command.
public enum Npy {
    /// A parsed `.npy` header.
    public struct Header: Equatable, Sendable {
        /// The dtype descriptor, e.g. `<f4`.
        public var descr: String
        /// Whether the array is column-major.
        public var fortranOrder: Bool
        /// The array's shape.
        public var shape: [Int]
        /// Byte offset of the array data.
        public var dataOffset: Int
    }

    /// Parses the header at the start of `bytes`.
    public static func parseHeader(_ bytes: UnsafeRawBufferPointer) throws -> Header {
        let magic: [UInt8] = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]  // \x93NUMPY
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw EntropyError.file("not a .npy file (bad magic)") }
        let major = bytes[6]
        let lenBytes = major == 1 ? 2 : 4
        guard major >= 1, major <= 3, bytes.count >= 8 + lenBytes else { throw EntropyError.file("unsupported .npy version \(major)") }
        var headerLen = 0
        for i in 0..<lenBytes { headerLen |= Int(bytes[8 + i]) << (8 * i) }
        let start = 8 + lenBytes, end = start + headerLen
        guard end <= bytes.count else { throw EntropyError.file(".npy header runs past the end of the file") }
        let text = String(decoding: bytes[start..<end], as: UTF8.self)
        guard let descr = quotedValue(after: "'descr'", in: text) else { throw EntropyError.file(".npy header has no descr") }
        guard let fortran = rawValue(after: "'fortran_order'", in: text) else { throw EntropyError.file(".npy header has no fortran_order") }
        guard let shapeText = tupleValue(after: "'shape'", in: text) else { throw EntropyError.file(".npy header has no shape") }
        var shape = [Int]()
        for part in shapeText.split(separator: ",") {
            let t = part.trimmingCharacters()
            if t.isEmpty { continue }
            guard let v = Int(t), v >= 0 else { throw EntropyError.file(".npy shape entry '\(t)' is not a size") }
            shape.append(v)
        }
        return Header(descr: descr, fortranOrder: fortran.hasPrefix("True"), shape: shape, dataOffset: end)
    }

    /// The bytes of a `.npy` file holding `values` as float32 with the given shape (C order).
    public static func encodeFloat32(_ values: [Float], shape: [Int]) -> [UInt8] {
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var dict = "{'descr': '<f4', 'fortran_order': False, 'shape': \(dims), }"
        // Pad with spaces so that magic + version + length + header (ending in \n) is a multiple of 64.
        let unpadded = 10 + dict.utf8.count + 1
        dict += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var out: [UInt8] = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]
        let n = dict.utf8.count
        out.append(UInt8(n & 0xff)); out.append(UInt8(n >> 8))
        out.append(contentsOf: dict.utf8)
        out.append(contentsOf: LogitsCodec.encode(values, as: .fp32))
        return out
    }

    /// Writes `values` as a float32 `.npy` file.
    public static func writeFloat32(_ values: [Float], shape: [Int], to path: String) throws {
        let bytes = encodeFloat32(values, shape: shape)
        guard let f = fopen(path, "wb") else { throw EntropyError.file("cannot create \(path)") }
        defer { fclose(f) }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        guard written == bytes.count else { throw EntropyError.file("short write to \(path)") }
    }

    private static func valueStart(after key: String, in text: String) -> Substring? {
        guard let r = text.range(of: key) else { return nil }
        var rest = text[r.upperBound...]
        while let c = rest.first, c == " " || c == ":" { rest = rest.dropFirst() }
        return rest
    }

    private static func quotedValue(after key: String, in text: String) -> String? {
        guard var rest = valueStart(after: key, in: text), let q = rest.first, q == "'" || q == "\"" else { return nil }
        rest = rest.dropFirst()
        guard let close = rest.firstIndex(of: q) else { return nil }
        return String(rest[..<close])
    }

    private static func rawValue(after key: String, in text: String) -> String? {
        valueStart(after: key, in: text).map(String.init)
    }

    private static func tupleValue(after key: String, in text: String) -> String? {
        guard var rest = valueStart(after: key, in: text), rest.first == "(" else { return nil }
        rest = rest.dropFirst()
        guard let close = rest.firstIndex(of: ")") else { return nil }
        return String(rest[..<close])
    }
}

private extension Substring {
    func trimmingCharacters() -> Substring {
        var s = self
        while let c = s.first, c == " " { s = s.dropFirst() }
        while let c = s.last, c == " " { s = s.dropLast() }
        return s
    }
}

private extension String {
    func range(of needle: String) -> Range<String.Index>? {
        guard !needle.isEmpty else { return nil }
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(needle) { return i..<index(i, offsetBy: needle.count) }
            i = index(after: i)
        }
        return nil
    }
}

/// A logits matrix [rows, vocab] mapped read-only from a `.npy` file (float32 / float16, or any
/// 2-byte dtype read as bf16) or from a raw little-endian bf16/fp16/fp32 file.
public final class LogitsFile {
    /// The logits bytes (rows × vocab × dtype width), valid while this object lives.
    public let bytes: UnsafeRawBufferPointer
    /// Element type of the logits.
    public let dtype: LogitsDType
    /// Rows (tokens).
    public let rows: Int
    /// Vocabulary size (row length).
    public let vocab: Int
    private let base: UnsafeMutableRawPointer?
    private let mappedLength: Int

    /// Opens `path`. With `dtype` nil the file must be a `.npy` of float32 or float16 [N, V];
    /// with `dtype` = `.bf16` a `.npy` with a 2-byte descr is read as bf16, and a file without
    /// the .npy magic is read as raw data of `vocab` columns.
    public init(path: String, dtype forced: LogitsDType? = nil, vocab forcedVocab: Int? = nil) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw EntropyError.file("cannot open \(path)") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw EntropyError.file("cannot stat \(path)") }
        let size = Int(st.st_size)
        guard size > 0 else { throw EntropyError.file("\(path) is empty") }
        #if os(Linux)
        let flags = MAP_PRIVATE | MAP_POPULATE  // fault the pages in now, not inside the kernel's timing
        #else
        let flags = MAP_PRIVATE
        #endif
        guard let p = mmap(nil, size, PROT_READ, flags, fd, 0), p != MAP_FAILED else {
            throw EntropyError.file("cannot map \(path)")
        }
        base = p
        mappedLength = size
        let all = UnsafeRawBufferPointer(start: p, count: size)
        do {
            let isNpy = size >= 6 && all[0] == 0x93 && all[1] == 0x4e
            if isNpy {
                let h = try Npy.parseHeader(all)
                guard !h.fortranOrder else { throw EntropyError.file("Fortran-order .npy is not supported (use C order)") }
                guard h.shape.count == 2 else { throw EntropyError.shape(".npy must be 2-D [N, V], got shape \(h.shape)") }
                let dt: LogitsDType
                switch (forced, h.descr) {
                case (nil, "<f4"), (.fp32?, "<f4"): dt = .fp32
                case (nil, "<f2"), (.fp16?, "<f2"): dt = .fp16
                case (.bf16?, let d) where d.hasSuffix("2"): dt = .bf16
                default: throw EntropyError.file("unsupported .npy dtype '\(h.descr)'\(forced.map { " for --dtype \($0)" } ?? "") (float32 or float16; bf16 via --dtype bf16)")
                }
                let (r, v) = (h.shape[0], h.shape[1])
                guard v > 0, h.dataOffset + r * v * dt.byteWidth <= size else { throw EntropyError.shape("\(path): data shorter than shape \(h.shape)") }
                dtype = dt; rows = r; vocab = v
                bytes = UnsafeRawBufferPointer(start: p + h.dataOffset, count: r * v * dt.byteWidth)
            } else {
                guard let dt = forced, let v = forcedVocab, v > 0 else {
                    throw EntropyError.file("\(path) is not a .npy file; raw input needs --dtype and --vocab")
                }
                guard size % (v * dt.byteWidth) == 0 else { throw EntropyError.shape("\(size) bytes is not a whole number of rows of \(v) × \(dt.byteWidth) bytes") }
                dtype = dt; vocab = v; rows = size / (v * dt.byteWidth)
                bytes = all
            }
        } catch {
            munmap(p, size)
            throw error
        }
    }

    deinit { if let base { munmap(base, mappedLength) } }
}
