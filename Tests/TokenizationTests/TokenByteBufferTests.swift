import Testing
import TestSupport
import Tokenization

/// The row buffer the engine decodes each row into once, and the decode fast path (valid UTF-8
/// taken as it stands) against the run-by-run lossy decoding.
@Suite struct TokenByteBufferTests {
    /// A reference of `decode(ids, skipSpecialTokens: false)` from first principles: ordinary runs
    /// through Swift's own lossy UTF-8 decoding (the same maximal-subpart replacement), added
    /// tokens verbatim.
    func reference(_ tok: Tokenizer, _ ids: ArraySlice<Int32>) throws -> String {
        var out = "", run: [UInt8] = []
        for id in ids {
            let bytes = Array(try tok.tokenBytes(id))
            if tok.isAddedToken(id) {
                out += String(decoding: run, as: UTF8.self) + String(decoding: bytes, as: UTF8.self)
                run.removeAll()
            } else {
                run += bytes
            }
        }
        return out + String(decoding: run, as: UTF8.self)
    }

    @Test func decodedTextMatchesTheRunByRunDecoding() throws {
        let tok = try TestFixtures.qwenTokenizer()
        var rng = SplitRNG(seed: 7)
        let text = "<think>\nCafé 東京 😀 ok</think>\n<tool_call>\n{\"name\": \"f\"}\n</tool_call><|im_end|>"
        let good = tok.encodeIDs(text)
        let added = [tok.id(forAddedToken: "<|im_end|>")!, tok.id(forAddedToken: "<think>")!, tok.id(forAddedToken: "<|endoftext|>")!]
        var buffer = TokenByteBuffer()
        for round in 0..<200 {
            // Valid text, raw single-byte tokens (0x80…0xFF: broken UTF-8) and added tokens mixed.
            var ids: [Int32] = []
            for _ in 0..<(5 + Int(rng.next() % 60)) {
                switch rng.next() % 4 {
                case 0: ids.append(Int32(128 + rng.next() % 128))
                case 1: ids.append(added[Int(rng.next() % 3)])
                default: ids.append(good[Int(rng.next() % UInt64(good.count))])
                }
            }
            if round % 3 == 0 { ids = good }   // some rows entirely valid
            try ids.withUnsafeBufferPointer { p in
                try buffer.load(p, tokenizer: tok)
                let whole = try tok.decodeBytes(ids)
                #expect(Array(buffer.bytes[0 ..< buffer.byteCount]) == whole.bytes)
                #expect(buffer.starts[0 ... ids.count].map { Int($0) } == whole.tokenStarts)
                for r in [0 ..< ids.count, 1 ..< ids.count, 0 ..< ids.count / 2] where !r.isEmpty {
                    let expected = try reference(tok, ids[r])
                    let viaBuffer = try buffer.withDecodedText(r, ids: p, tokenizer: tok) { String(decoding: $0, as: UTF8.self) }
                    #expect(viaBuffer == expected, "round \(round), tokens \(r)")
                    #expect(try tok.decode(ids[r]) == expected)
                    buffer.withTokens(r) { bytes, starts in
                        #expect(starts.first == 0 && Int(starts.last!) == bytes.count)
                    }
                }
            }
        }
    }

    @Test func unknownIDsAreErrors() {
        let tok = try! TestFixtures.qwenTokenizer()
        var buffer = TokenByteBuffer()
        #expect(throws: TokenizerError.unknownTokenID(Int(Int32.max))) {
            try [Int32(1), .max].withUnsafeBufferPointer { try buffer.load($0, tokenizer: tok) }
        }
        #expect([Int32(5), -1, 7].withUnsafeBufferPointer { tok.firstUnknownID(in: $0) } == 1)
        #expect(UTF8Check.isValid([0xE6, 0x9D, 0xB1].withUnsafeBufferPointer { $0 }) )
        #expect(!UTF8Check.isValid([0xE6, 0x9D].withUnsafeBufferPointer { $0 }))
        #expect(!UTF8Check.isValid([0xED, 0xA0, 0x80].withUnsafeBufferPointer { $0 }))   // a surrogate
        #expect(!UTF8Check.isValid([0xC0, 0x80].withUnsafeBufferPointer { $0 }))         // overlong
    }
}

/// A seeded LCG (high bits): enough to mix ids for a test.
struct SplitRNG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state >> 17
    }
}
