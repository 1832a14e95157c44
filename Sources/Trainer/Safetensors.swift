import CKernels
import Foundation

/// Reader and writer for the safetensors format: an 8-byte little-endian header length, a JSON
/// header `{name: {dtype, shape, data_offsets}}` (+ optional `__metadata__`), then raw
/// little-endian tensor bytes. Reads F32, BF16 and F16 (converted to fp32); writes F32.
public enum Safetensors {
    /// One tensor's entry in a file header.
    public struct Entry: Sendable {
        public var dtype: String
        public var shape: [Int]
        public var begin: Int
        public var end: Int
    }

    /// The JSON header as Codable reads it: every key but `__metadata__` is a tensor entry (nil
    /// where the entry is malformed, so the error can name it).
    struct Header: Decodable {
        struct RawEntry: Codable { var dtype: String; var shape: [Int]; var data_offsets: [Int] }
        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
        var entries: [String: RawEntry?] = [:]
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            for k in c.allKeys where k.stringValue != "__metadata__" { entries[k.stringValue] = try? c.decode(RawEntry.self, forKey: k) }
        }
    }

    /// The header as written: `__metadata__` (when there is any) and one entry per tensor.
    struct WrittenHeader: Encodable {
        var metadata: [String: String]
        var entries: [(name: String, entry: Header.RawEntry)]
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: Header.Key.self)
            if !metadata.isEmpty { try c.encode(metadata, forKey: Header.Key(stringValue: "__metadata__")) }
            for e in entries { try c.encode(e.entry, forKey: Header.Key(stringValue: e.name)) }
        }
    }

    /// A memory-mapped safetensors file.
    public final class File: @unchecked Sendable {
        public let url: URL
        public let entries: [String: Entry]
        let data: Data
        let base: Int

        public init(url: URL) throws(TrainerError) {
            self.url = url
            let d: Data
            do { d = try Data(contentsOf: url, options: .alwaysMapped) } catch {
                throw .io("cannot read \(url.path): \(error.localizedDescription)")
            }
            guard d.count >= 8 else { throw .safetensors("\(url.lastPathComponent): file shorter than its header length") }
            var n: UInt64 = 0
            for i in 0..<8 { n |= UInt64(d[d.startIndex + i]) << (8 * UInt64(i)) }
            guard n <= UInt64(d.count - 8) else { throw .safetensors("\(url.lastPathComponent): header length \(n) exceeds file size") }
            let headerData = d.subdata(in: (d.startIndex + 8)..<(d.startIndex + 8 + Int(n)))
            guard let header = try? JSONDecoder().decode(Header.self, from: headerData) else {
                throw .safetensors("\(url.lastPathComponent): header is not a JSON object")
            }
            var entries: [String: Entry] = [:]
            let payload = d.count - 8 - Int(n)
            for (name, value) in header.entries {
                guard let e = value, e.data_offsets.count == 2, e.data_offsets[0] >= 0,
                      e.data_offsets[0] <= e.data_offsets[1], e.data_offsets[1] <= payload else {
                    throw .safetensors("\(url.lastPathComponent): bad header entry for '\(name)'")
                }
                entries[name] = Entry(dtype: e.dtype, shape: e.shape, begin: e.data_offsets[0], end: e.data_offsets[1])
            }
            self.entries = entries
            self.data = d
            self.base = 8 + Int(n)
        }

        /// The tensor as fp32 (F32, BF16 and F16 are accepted).
        public func floats(_ name: String) throws(TrainerError) -> [Float] {
            guard let e = entries[name] else { throw .missingTensor(name) }
            let count = e.shape.reduce(1, *)
            let width: Int
            switch e.dtype {
            case "F32": width = 4
            case "BF16", "F16": width = 2
            default: throw .safetensors("tensor '\(name)' has unsupported dtype \(e.dtype)")
            }
            guard e.end - e.begin == count * width else {
                throw .safetensors("tensor '\(name)': \(e.end - e.begin) bytes for \(count) × \(e.dtype)")
            }
            var out = [Float](repeating: 0, count: count)
            data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                let p = raw.baseAddress! + base + e.begin
                switch e.dtype {
                case "F32":
                    out.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(start: p, count: count * 4)) }
                case "BF16":
                    for i in 0..<count {
                        out[i] = ck_bf16_to_f32(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                    }
                default:
                    for i in 0..<count {
                        out[i] = ck_f16_to_f32(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                    }
                }
            }
            return out
        }
    }

    /// Writes fp32 tensors (in the given order) with optional string metadata.
    public static func write(_ tensors: [(name: String, shape: [Int], values: [Float])], metadata: [String: String] = ["format": "pt"],
                             to url: URL) throws(TrainerError) {
        for t in tensors where t.values.count != t.shape.reduce(1, *) {
            throw .shapeMismatch(name: t.name, expected: t.shape, found: [t.values.count])
        }
        try write(names: tensors.map { ($0.name, $0.shape) }, metadata: metadata, to: url) { tensors[$0].values }
    }

    /// Writes fp32 tensors streamed one at a time: `values(i)` gives tensor i's elements when it
    /// is written, so a checkpoint never needs a second copy of the model in memory. The file
    /// appears under its name only when complete.
    public static func write(names: [(name: String, shape: [Int])], metadata: [String: String] = ["format": "pt"], to url: URL,
                             values: (Int) throws -> [Float]) throws(TrainerError) {
        var written = WrittenHeader(metadata: metadata, entries: [])
        var offset = 0
        for t in names {
            let bytes = t.shape.reduce(1, *) * 4
            written.entries.append((t.name, Header.RawEntry(dtype: "F32", shape: t.shape, data_offsets: [offset, offset + bytes])))
            offset += bytes
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let headerData = try? encoder.encode(written) else { throw .safetensors("cannot encode the header of \(url.lastPathComponent)") }
        var header = String(decoding: headerData, as: UTF8.self)
        while (header.utf8.count + 8) % 8 != 0 { header += " " }   // keep tensor data 8-byte aligned
        let partial = url.appendingPathExtension("partial")
        guard FileManager.default.createFile(atPath: partial.path, contents: nil), let h = FileHandle(forWritingAtPath: partial.path) else {
            throw .io("cannot write \(partial.path)")
        }
        do {
            var start = Data()
            var n = UInt64(header.utf8.count).littleEndian
            withUnsafeBytes(of: &n) { start.append(contentsOf: $0) }
            start.append(contentsOf: Array(header.utf8))
            try h.write(contentsOf: start)
            for (i, t) in names.enumerated() {
                let v = try values(i)
                guard v.count == t.shape.reduce(1, *) else { throw TrainerError.shapeMismatch(name: t.name, expected: t.shape, found: [v.count]) }
                try v.withUnsafeBytes { try h.write(contentsOf: Data($0)) }
            }
            try h.close()
            _ = try? FileManager.default.removeItem(at: url)
            try FileManager.default.moveItem(at: partial, to: url)
        } catch let e as TrainerError {
            try? h.close(); try? FileManager.default.removeItem(at: partial)
            throw e
        } catch {
            try? h.close(); try? FileManager.default.removeItem(at: partial)
            throw .io("cannot write \(url.path): \(error.localizedDescription)")
        }
    }
}
