import Foundation
import Testing
import TestSupport
import Tokenization

/// Pre-tokenizer behaviour of the Qwen regex.
@Suite struct PreTokenizerTests {
    @Test func contractionsAreCaseInsensitive() {
        #expect(PreTokenizer.split("It's THEY'LL we'Re I'M you'VE he'D don'T") ==
                ["It", "'s", " THEY", "'LL", " we", "'Re", " I", "'M", " you", "'VE", " he", "'D", " don", "'T"])
        // Oniguruma's case-insensitive 's also matches 'ſ (U+017F folds to s), as HF does.
        #expect(PreTokenizer.split("a'ſb") == ["a", "'ſ", "b"])
        // Not a contraction: the quote joins the letters after it.
        #expect(PreTokenizer.split("'hello 'x") == ["'hello", " '", "x"])
    }

    @Test func digitsAreSplitOneByOne() {
        #expect(PreTokenizer.split("12345") == ["1", "2", "3", "4", "5"])
        #expect(PreTokenizer.split("v2.0") == ["v", "2", ".", "0"])
    }

    @Test func whitespaceRuns() {
        #expect(PreTokenizer.split("a  b") == ["a", " ", " b"])
        #expect(PreTokenizer.split("a \n\n b") == ["a", " \n\n", " b"])
        #expect(PreTokenizer.split("x   ") == ["x", "   "])
        #expect(PreTokenizer.split("x\t\ty") == ["x", "\t", "\ty"])
        #expect(PreTokenizer.split("a\n  b") == ["a", "\n", " ", " b"])
        #expect(PreTokenizer.split("}\n\n") == ["}\n\n"])
        #expect(PreTokenizer.split(" {\"a\"") == [" {\"", "a", "\""])
    }

    @Test func unicodeClasses() {
        #expect(PreTokenizer.split("東京 서울") == ["東京", " 서울"])
        #expect(PreTokenizer.split("😀👍🏽x") == ["😀👍🏽", "x"])
        // U+3000 IDEOGRAPHIC SPACE is \s; U+00A0 too.
        #expect(PreTokenizer.split("a\u{3000}\u{3000}b") == ["a", "\u{3000}", "\u{3000}b"])
    }
}

/// Encoding behaviour against values HF `tokenizers` produced (taken from the reference cases).
@Suite struct EncodeTests {
    @Test func addedTokensAdjacentToText() throws {
        let tok = try TestFixtures.qwenTokenizer()
        #expect(tok.encode("<think>hi</think>").ids == [151667, 6023, 151668])
        let e = tok.encode("a<|im_end|>b")
        #expect(e.ids.count == 3 && e.ids[1] == 151645)
        #expect(e.offsets == [0..<1, 1..<11, 11..<12])
        #expect(tok.id(forAddedToken: "<|endoftext|>") == 151643)
        #expect(tok.isSpecial(151643) && !tok.isSpecial(151667) && tok.isAddedToken(151667) && !tok.isAddedToken(100))
    }

    @Test func nfcComposedOffsets() throws {
        let tok = try TestFixtures.qwenTokenizer()
        // HF aligns a composed character to its first source character only.
        let a = tok.encode("a\u{301}\u{301}\u{301}")
        #expect(a.ids == [1953, 53839, 53839])
        #expect(a.offsets == [0..<1, 2..<3, 3..<4])
        let b = tok.encode("ñ vs n\u{303}")
        #expect(b.ids == [5653, 6165, 1683, 109])
        #expect(b.offsets == [0..<1, 1..<4, 4..<6, 5..<6])
        // Singleton mapping: U+212B ANGSTROM SIGN → U+00C5.
        #expect(tok.encode("\u{212B} angstrom sign").ids == [144044, 6454, 34055, 1841])
        #expect(try tok.decode(tok.encode("cafe\u{301}").ids) == "caf\u{E9}")
    }

    @Test func emojiAndCJK() throws {
        let tok = try TestFixtures.qwenTokenizer()
        let text = "}e\u{301}한👍🏽.日本 é你-23"
        let e = tok.encode(text)
        #expect(e.ids == [92, 963, 23573, 144349, 145375, 13, 101059, 3958, 56568, 12, 17, 18])
        #expect(e.offsets == [0..<1, 1..<2, 3..<4, 4..<5, 5..<6, 6..<7, 7..<9, 9..<11, 11..<12, 12..<13, 13..<14, 14..<15])
        // Byte offsets are into the original UTF-8 text.
        #expect(e.byteOffsets.first == 0..<1 && e.byteOffsets.last == (text.utf8.count - 1)..<text.utf8.count)
    }

    @Test func partialCharacterTokensReportWholeCharacter() throws {
        let tok = try TestFixtures.qwenTokenizer()
        let e = tok.encode("\u{200D}23")
        #expect(e.ids == [378, 235, 17, 18])
        #expect(e.offsets == [0..<1, 0..<1, 1..<2, 2..<3])
        #expect(e.byteOffsets == [0..<3, 0..<3, 3..<4, 4..<5])
    }

    @Test func roundTripAndSpans() throws {
        let tok = try TestFixtures.qwenTokenizer()
        let text = SampleText.mixed
        let e = tok.encode(text)
        #expect(e.ids.count == e.offsets.count && e.ids.count == e.byteOffsets.count)
        #expect(try tok.decode(e.ids) == text)
        let d = try tok.decodeBytes(e.ids)
        #expect(d.bytes == Array(text.utf8))
        #expect(d.tokenStarts.count == e.ids.count + 1)
        for (i, id) in e.ids.enumerated() {
            #expect(d.span(i).count == (try tok.tokenLength(id)))
            // A token's byte offsets cover its own bytes (widened to whole characters).
            #expect(e.byteOffsets[i].contains(d.span(i).lowerBound) && e.byteOffsets[i].upperBound >= d.span(i).upperBound)
        }
        #expect(tok.encodeIDs(text) == e.ids)
    }

    @Test func heapAndArrayBPEAgree() throws {
        let tok = try TestFixtures.qwenTokenizer()
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("aeiostnrlhdcmpu".utf8) + Array("  ".utf8)
        for _ in 0..<300 {
            let n = Int.random(in: 2...120, using: &rng)
            let bytes = (0..<n).map { _ in alphabet.randomElement(using: &rng)! }
            #expect(tok.bytePairEncode(bytes) == tok.bytePairEncode(bytes, algorithm: .heap))
        }
        let long = Array(String(repeating: "=", count: 200).utf8)
        #expect(tok.bytePairEncode(long) == tok.bytePairEncode(long, algorithm: .heap))
    }

    @Test func concurrentEncodesAgree() async throws {
        let tok = try TestFixtures.qwenTokenizer()
        let expected = tok.encode(SampleText.mixed)
        let results = await withTaskGroup(of: Encoding.self, returning: [Encoding].self) { group in
            for _ in 0..<8 { group.addTask { tok.encode(SampleText.mixed) } }
            var all: [Encoding] = []
            for await r in group { all.append(r) }
            return all
        }
        #expect(results.allSatisfy { $0 == expected })
    }
}

/// Decoding behaviour.
@Suite struct DecodeTests {
    @Test func unknownIDIsATypedError() throws {
        let tok = try TestFixtures.qwenTokenizer()
        #expect(throws: TokenizerError.unknownTokenID(999_999)) { try tok.decode([1, 999_999]) }
        #expect(throws: TokenizerError.unknownTokenID(-1)) { try tok.decodeBytes([-1]) }
        #expect(throws: TokenizerError.unknownTokenID(151_669)) { try tok.tokenBytes(151_669) }
    }

    @Test func invalidUTF8() throws {
        let tok = try TestFixtures.qwenTokenizer()
        #expect(try tok.decode([160]) == "\u{FFFD}")
        #expect(try tok.decode([223, 187, 187, 234, 139432]) == "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}เห็นว่า")
        #expect(try tok.decode([254, 127, 102, 185, 74]) == "\u{FFFD}é\u{FFFD}k")
        // The raw bytes are kept exactly.
        #expect(try tok.decodeBytes([172, 253, 239, 235]).bytes == [0xF0, 0x9F, 0x91, 0x8D])
    }

    @Test func addedTokensSplitByteRuns() throws {
        let tok = try TestFixtures.qwenTokenizer()
        // 172 253 239 235 is 👍 (F0 9F 91 8D): a kept added token between its halves breaks it…
        #expect(try tok.decode([172, 253, 151643, 239, 235]) == "\u{FFFD}<|endoftext|>\u{FFFD}\u{FFFD}")
        // …a skipped special token does not.
        #expect(try tok.decode([172, 253, 151643, 239, 235], skipSpecialTokens: true) == "👍")
    }

    @Test func skipSpecialTokensKeepsNonSpecialAddedTokens() throws {
        let tok = try TestFixtures.qwenTokenizer()
        let ids: [Int32] = [151644, 151667, 6023, 151668, 151657, 151658, 151645, 151643]
        #expect(try tok.decode(ids, skipSpecialTokens: true) == "<think>hi</think><tool_call></tool_call>")
        #expect(try tok.decode(ids) == "<|im_start|><think>hi</think><tool_call></tool_call><|im_end|><|endoftext|>")
    }
}
