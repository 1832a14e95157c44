import Foundation

/// A `tokenizer-cases` reference file (kind `tokenizer-cases`): encode cases `{text, ids, offsets, decoded}`
/// and decode cases `{ids, decoded}` made with HF `tokenizers`, and how to check a tokenizer against them.
public struct TokenizerCases: Sendable {
    /// One encode case.
    public struct EncodeCase: Sendable {
        /// The text encoded.
        public var text: String
        /// HF's ids.
        public var ids: [Int32]
        /// HF's offsets, in code points.
        public var offsets: [Range<Int>]
        /// HF's decode of the ids.
        public var decoded: String
    }
    /// One decode case.
    public struct DecodeCase: Sendable {
        /// The ids decoded.
        public var ids: [Int32]
        /// HF's decode.
        public var decoded: String
        /// Whether added special tokens are skipped when decoding.
        public var skipSpecialTokens: Bool
    }

    /// The `kind` of a cases file.
    public static let kind = "tokenizer-cases"
    /// The encode cases, in file order.
    public var encodeCases: [EncodeCase]
    /// The decode cases, in file order.
    public var decodeCases: [DecodeCase]

    /// Parses a cases file.
    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw TokenizerError.invalidFile("cannot read \(path)") }
        try self.init(json: data)
    }

    private struct File: Decodable {
        var kind: String
        var encode_cases: [Encode]?
        var decode_cases: [Decode]?
        struct Encode: Decodable { var text: String; var ids: [Int32]; var offsets: [[Int]]; var decoded: String }
        struct Decode: Decodable { var ids: [Int32]; var decoded: String; var skip_special_tokens: Bool? }
    }

    /// Parses the JSON text of a cases file (with `JSONDecoder`: Foundation's untyped JSON object
    /// parser drops a raw U+FEFF inside strings, and cJSON cannot hold U+0000).
    public init(json data: Data) throws {
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: data) } catch {
            throw TokenizerError.invalidFile("tokenizer cases: \(error)")
        }
        guard file.kind == TokenizerCases.kind else { throw TokenizerError.invalidFile("kind is not \(TokenizerCases.kind)") }
        encodeCases = try (file.encode_cases ?? []).map { c in
            let offsets = try c.offsets.map { p -> Range<Int> in
                guard p.count == 2, p[0] <= p[1] else { throw TokenizerError.invalidFile("bad offset pair \(p)") }
                return p[0] ..< p[1]
            }
            return EncodeCase(text: c.text, ids: c.ids, offsets: offsets, decoded: c.decoded)
        }
        decodeCases = (file.decode_cases ?? []).map {
            DecodeCase(ids: $0.ids, decoded: $0.decoded, skipSpecialTokens: $0.skip_special_tokens ?? false)
        }
    }

    /// Checks every case; one `(case id, first difference or nil)` per case, encode cases first.
    public func check(_ tokenizer: Tokenizer) -> [(id: String, difference: String?)] {
        var out: [(String, String?)] = []
        for (i, c) in encodeCases.enumerated() {
            out.append(("encode[\(i)]", TokenizerCases.difference(c, tokenizer)))
        }
        for (i, c) in decodeCases.enumerated() {
            let diff: String?
            do {
                let got = try tokenizer.decode(c.ids, skipSpecialTokens: c.skipSpecialTokens)
                diff = got == c.decoded ? nil : "decode: expected \(c.decoded.debugDescription), got \(got.debugDescription)"
            } catch {
                diff = "decode threw \(error)"
            }
            out.append(("decode[\(i)]", diff))
        }
        return out
    }

    static func difference(_ c: EncodeCase, _ tokenizer: Tokenizer) -> String? {
        let enc = tokenizer.encode(c.text)
        if enc.ids != c.ids {
            let k = zip(enc.ids, c.ids).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(enc.ids.count, c.ids.count)
            return "ids differ at \(k): expected \(Array(c.ids[k...].prefix(4))), got \(Array(enc.ids[k...].prefix(4))) (text \(c.text.debugDescription))"
        }
        if enc.offsets != c.offsets {
            let k = zip(enc.offsets, c.offsets).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? 0
            if enc.offsets.count != c.offsets.count { return "expected \(c.offsets.count) offsets, got \(enc.offsets.count)" }
            return "offset \(k) of id \(c.ids[k]): expected \(c.offsets[k]), got \(enc.offsets[k]) (text \(c.text.debugDescription))"
        }
        do {
            let got = try tokenizer.decode(c.ids)
            if got != c.decoded { return "decode: expected \(c.decoded.debugDescription), got \(got.debugDescription)" }
        } catch {
            return "decode threw \(error)"
        }
        return nil
    }
}
