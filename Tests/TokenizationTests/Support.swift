import Foundation
import TestSupport
import Tokenization

/// This target's vendored fixtures (Fixtures/SOURCES.md).
let fixtures = TestFixtures(bundle: .module)

/// Tokenizer test data read from or derived from the fixtures.
enum TokenizerTestData {
    static let cases: Result<TokenizerCases, any Error> = Result { try TokenizerCases(path: fixtures.path("tokenizer_cases_visible.json")) }

    /// A `tokenizer.json` derived at test time from the vendored `qwen.tiktoken` by the standard
    /// tiktoken → HF conversion (byte-level vocab; merges = every split whose halves are tokens,
    /// ordered by merged rank, then left rank, then right rank), with "a b" string merges.
    static let derivedJSONPath: Result<String, any Error> = Result {
        let ranks = try readTiktoken(TestFixtures.qwenTiktokenPath)
        var index: [[UInt8]: Int] = [:]
        for (bytes, rank) in ranks { index[bytes] = rank }
        var merges: [(Int, Int, Int)] = []
        for (bytes, rank) in ranks where bytes.count > 1 {
            for k in 1..<bytes.count {
                if let l = index[Array(bytes[..<k])], let r = index[Array(bytes[k...])] { merges.append((rank, l, r)) }
            }
        }
        merges.sort { ($0.0, $0.1, $0.2) < ($1.0, $1.1, $1.2) }
        var byRank = [[UInt8]](repeating: [], count: ranks.count)
        for (bytes, rank) in ranks { byRank[rank] = bytes }
        func q(_ bytes: [UInt8]) -> String { jsonString(ByteLevel.encode(bytes)) }
        var json = #"{"version":"1.0","truncation":null,"padding":null,"added_tokens":["#
        json += AddedToken.qwen3.map {
            #"{"id":\#($0.id),"content":\#(jsonString($0.content)),"single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":\#($0.special)}"#
        }.joined(separator: ",")
        json += #"],"normalizer":{"type":"NFC"},"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"#
        json += jsonString(qwenPattern)
        json += #"},"behavior":"Isolated","invert":false},{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":false,"use_regex":false}]},"#
        json += #""post_processor":{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":false,"use_regex":false},"#
        json += #""decoder":{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":false,"use_regex":false},"#
        json += #""model":{"type":"BPE","dropout":null,"unk_token":null,"continuing_subword_prefix":null,"end_of_word_suffix":null,"fuse_unk":false,"byte_fallback":false,"ignore_merges":true,"vocab":{"#
        json += byRank.enumerated().map { "\(q($0.element)):\($0.offset)" }.joined(separator: ",")
        json += #"},"merges":["#
        json += merges.map { jsonString(ByteLevel.encode(byRank[$0.1]) + " " + ByteLevel.encode(byRank[$0.2])) }.joined(separator: ",")
        json += "]}}"
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("derived-qwen-\(getpid()).json")
        try json.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    static let qwenPattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    static let derivedJSONTokenizer: Result<Tokenizer, any Error> = Result {
        try Tokenizer(tokenizerJSONPath: derivedJSONPath.get())
    }

    static func readTiktoken(_ path: String) throws -> [([UInt8], Int)] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 2, let data = Data(base64Encoded: String(parts[0])), let rank = Int(parts[1]) else { return nil }
            return ([UInt8](data), rank)
        }
    }

    /// `s` as a JSON string literal (JSONEncoder's escaping; `null` if it cannot encode, which fails the test).
    static func jsonString(_ s: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return (try? encoder.encode(s)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }

    /// Writes a small JSON document to a temp file and returns its path.
    static func writeTemp(_ json: String, _ name: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(getpid())-\(UUID().uuidString).json")
        try json.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }
}
