import Foundation
import TestSupport
import Wire

/// The golden wire messages (Fixtures/golden, see Fixtures/SOURCES.md).
let goldenFixtures = TestFixtures(bundle: .module, subdirectory: "Fixtures/golden")

/// The golden wire messages decoded: container frames and the manifest (read through `goldenFixtures`).
enum GoldenMessages {
    /// Frames of a golden `.bin` container: u32 count, then (u64 length, bytes) per frame.
    static func frames(_ name: String) throws -> [[UInt8]] {
        let data = try goldenFixtures.bytes(name)
        func u(_ at: Int, _ n: Int) -> Int { (0..<n).reduce(0) { $0 | Int(data[at + $1]) << (8 * $1) } }
        var at = 4
        var out: [[UInt8]] = []
        for _ in 0..<u(0, 4) {
            let len = u(at, 8); at += 8
            out.append(Array(data[at..<at + len])); at += len
        }
        #expect(at == data.count)
        return out
    }

    struct Entry: Decodable {
        var file: String; var kind: String; var op: String
        var ids_dtype: String?; var mask_dtype: String?; var max_frame_bytes: Int?
    }
    struct Manifest: Decodable { var messages: [Entry] }

    static func manifest() throws -> [Entry] {
        try JSONDecoder().decode(Manifest.self, from: goldenFixtures.data("manifest.json")).messages
    }
}

import Testing

/// Borrows `[[UInt8]]` frames as raw buffers for a decoder.
func withRaw<R>(_ frames: [[UInt8]], _ body: ([UnsafeRawBufferPointer]) throws -> R) rethrows -> R {
    let copies = frames.map { FrameBuffer(bytes: $0) }
    return try withExtendedLifetime(copies) { try body(copies.map(\.raw)) }
}
