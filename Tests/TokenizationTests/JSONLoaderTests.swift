import Testing
import Tokenization

/// A hand-made `tokenizer.json`: byte vocabulary plus a few merges in the `[a, b]` array form.
@Suite struct JSONLoaderTests {
    static func document(pattern: String = TokenizerTestData.qwenPattern, normalizer: String = #"{"type":"NFC"}"#,
                         modelType: String = "BPE", mergesJSON: String? = nil) -> String {
        var vocab: [String] = []
        for b in 0..<256 { vocab.append("\(TokenizerTestData.jsonString(ByteLevel.encode([UInt8(b)]))):\(b)") }
        vocab.append(#""he":256"#, )
        vocab.append(#""ll":257"#)
        vocab.append(#""hell":258"#)
        vocab.append(#""hello":259"#)
        vocab.append(#""Ġw":260"#)
        let merges = mergesJSON ?? #"[["h","e"],["l","l"],["he","ll"],["hell","o"],["Ġ","w"]]"#
        return """
        {"version":"1.0","added_tokens":[{"id":261,"content":"<eos>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}],
         "normalizer":\(normalizer),
         "pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":\(TokenizerTestData.jsonString(pattern))},"behavior":"Isolated","invert":false},{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":false,"use_regex":false}]},
         "post_processor":null,
         "decoder":{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":false,"use_regex":false},
         "model":{"type":"\(modelType)","dropout":null,"unk_token":null,"ignore_merges":false,"vocab":{\(vocab.joined(separator: ","))},"merges":\(merges)}}
        """
    }

    @Test func arrayMergesForm() throws {
        let tok = try Tokenizer.load(path: TokenizerTestData.writeTemp(Self.document(), "small"))
        #expect(tok.vocabSize == 262)
        let e = tok.encode("hello world<eos>")
        #expect(e.ids == [259, 260, 111, 114, 108, 100, 261])
        #expect(e.offsets == [0..<5, 5..<7, 7..<8, 8..<9, 9..<10, 10..<11, 11..<16])
        #expect(try tok.decode(e.ids, skipSpecialTokens: true) == "hello world")
        #expect(tok.isSpecial(261))
    }

    @Test func stringMergesFormGivesTheSameTokenizer() throws {
        let strings = #"["h e","l l","he ll","hell o","Ġ w"]"#
        let a = try Tokenizer.load(path: TokenizerTestData.writeTemp(Self.document(), "small-a"))
        let b = try Tokenizer.load(path: TokenizerTestData.writeTemp(Self.document(mergesJSON: strings), "small-b"))
        for text in ["hello world", "hellhole well", "ll he"] { #expect(a.encode(text) == b.encode(text)) }
    }

    @Test func mergeOrderDecides() throws {
        // With "l l" ranked before "h e", "hell" still reaches 258 via he+ll; without "he ll" it cannot.
        let tok = try Tokenizer.load(path: TokenizerTestData.writeTemp(Self.document(mergesJSON: #"["l l","h e"]"#), "small-c"))
        #expect(tok.encode("hell").ids == [256, 257])
    }

    @Test func unsupportedConfigurationsAreRejected() throws {
        #expect(throws: TokenizerError.self) {
            try Tokenizer.load(path: TokenizerTestData.writeTemp(Self.document(pattern: #"\s+|\w+"#), "bad-regex"))
        }
        #expect(throws: TokenizerError.self) {
            try Tokenizer.load(path: TokenizerTestData.writeTemp(Self.document(normalizer: #"{"type":"Lowercase"}"#), "bad-norm"))
        }
        #expect(throws: TokenizerError.self) {
            try Tokenizer.load(path: TokenizerTestData.writeTemp(Self.document(modelType: "WordPiece"), "bad-model"))
        }
        #expect(throws: TokenizerError.self) {
            try Tokenizer.load(path: TokenizerTestData.writeTemp(Self.document(mergesJSON: #"[["h","q"]]"#), "bad-merge"))
        }
        #expect(throws: TokenizerError.self) { try Tokenizer.load(path: TokenizerTestData.writeTemp("{not json", "bad-json")) }
        #expect(throws: TokenizerError.self) { try Tokenizer.load(path: "/nonexistent/tokenizer.json") }
    }
}
