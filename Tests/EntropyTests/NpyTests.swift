import Foundation
import Testing
import Entropy

/// .npy header parsing, the float32 writer and the memory-mapped logits reader.
@Suite struct NpyTests {
    /// `np.save` of float16 [[1.5, -2, inf], [0, 65504, -0.25]] (numpy 1.x/2.x, format 1.0).
    static let numpyFP16: [UInt8] = [147, 78, 85, 77, 80, 89, 1, 0, 118, 0] + Array("{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3), }".utf8)
        + [UInt8](repeating: 32, count: 58) + [10, 0, 62, 0, 192, 0, 124, 0, 0, 255, 123, 0, 180]

    static func temp(_ name: String, _ bytes: [UInt8]) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("entropy-tests-\(getpid())-\(name)")
        try Data(bytes).write(to: url)
        return url.path
    }

    @Test func parsesNumpyHeader() throws {
        let h = try Self.numpyFP16.withUnsafeBytes { try Npy.parseHeader($0) }
        #expect(h.descr == "<f2" && !h.fortranOrder && h.shape == [2, 3] && h.dataOffset == 128)
        let file = try LogitsFile(path: try Self.temp("fp16.npy", Self.numpyFP16))
        #expect(file.dtype == .fp16 && file.rows == 2 && file.vocab == 3)
        let values = (0..<6).map { LogitsCodec.decode(file.bytes, dtype: .fp16, index: $0) }
        #expect(values == [1.5, -2, .infinity, 0, 65504, -0.25])
    }

    @Test func writerRoundTrips() throws {
        let values: [Float] = [0.5, -1, 3.25, 1e-20, 7]
        let bytes = Npy.encodeFloat32(values, shape: [5])
        let h = try bytes.withUnsafeBytes { try Npy.parseHeader($0) }
        #expect(h.descr == "<f4" && !h.fortranOrder && h.shape == [5] && h.dataOffset % 64 == 0)
        #expect(bytes.count == h.dataOffset + 20)
        let two = Npy.encodeFloat32(values + values, shape: [2, 5])
        let file = try LogitsFile(path: try Self.temp("f32.npy", two))
        #expect(file.dtype == .fp32 && file.rows == 2 && file.vocab == 5)
        #expect((0..<10).map { LogitsCodec.decode(file.bytes, dtype: .fp32, index: $0) } == values + values)
    }

    @Test func rawBF16NeedsVocab() throws {
        let raw = LogitsCodec.encode([1, 2, 3, 4, 5, 6], as: .bf16)
        let path = try Self.temp("raw.bf16", raw)
        let file = try LogitsFile(path: path, dtype: .bf16, vocab: 3)
        #expect(file.rows == 2 && file.vocab == 3 && file.dtype == .bf16)
        #expect(throws: EntropyError.self) { try LogitsFile(path: path) }
        #expect(throws: EntropyError.self) { try LogitsFile(path: path, dtype: .bf16, vocab: 4) }
    }

    @Test func rejectsBadFiles() throws {
        var header = Array("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }".utf8)
        header += [UInt8](repeating: 32, count: 118 - header.count - 1) + [10]
        let f = [147, 78, 85, 77, 80, 89, 1, 0, 118, 0] + header + [UInt8](repeating: 0, count: 24)
        #expect(throws: EntropyError.self) { try LogitsFile(path: try Self.temp("fortran.npy", f)) }
        let oneD = Npy.encodeFloat32([1, 2, 3], shape: [3])
        #expect(throws: EntropyError.self) { try LogitsFile(path: try Self.temp("1d.npy", oneD)) }
        #expect(throws: EntropyError.self) { try LogitsFile(path: "/nonexistent/x.npy") }
        let f64 = Array(Self.numpyFP16.prefix(10)) + Array("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }".utf8)
        #expect(throws: EntropyError.self) { try LogitsFile(path: try Self.temp("f8.npy", f64 + [10])) }
    }
}
