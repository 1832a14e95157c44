/// How the trainer turns text into model token ids and back, and how model ids map onto the
/// ids the shaping core's tokenizer (the Qwen3 vocabulary) understands.
public protocol TextCodec: Sendable {
    /// Size of the model-side vocabulary this codec produces.
    var vocabularySize: Int { get }
    func encode(_ text: String) throws -> [Int32]
    func decode(_ ids: [Int32]) -> String
    /// Model ids → ids in the shaper's (Qwen3) vocabulary; identity for a real Qwen tokenizer.
    func shaperIDs(_ ids: [Int32]) -> [Int32]
    /// Model id of a special token such as `<|im_end|>`, if the vocabulary has it.
    func specialID(_ token: String) -> Int32?
}

/// A small vocabulary whose every entry is one token of the Qwen3 vocabulary (its text and its
/// Qwen id). A tiny model for the synthetic task uses it: the model's vocabulary is ~50 ids, yet
/// the shaping core receives genuine Qwen ids whose decoded text is exactly the model's text,
/// so ToolRL rewards and ResT regions are computed by the real core with the real tokenizer.
/// Encoding is greedy longest-match over the pieces (special tags are pieces too).
public struct PieceVocabulary: TextCodec {
    public let pieces: [String]
    public let qwenIDs: [Int32]
    private let byText: [String: Int32]
    private let maxPieceLength: Int

    public init(_ table: [(String, Int32)]) {
        pieces = table.map(\.0); qwenIDs = table.map(\.1)
        var m: [String: Int32] = [:]
        for (i, p) in pieces.enumerated() { m[p] = Int32(i) }
        byText = m
        maxPieceLength = pieces.map { $0.count }.max() ?? 1
    }

    public var vocabularySize: Int { pieces.count }

    public func encode(_ text: String) throws -> [Int32] {
        let chars = Array(text)
        var out: [Int32] = [], i = 0
        while i < chars.count {
            var found = false
            for len in stride(from: min(maxPieceLength, chars.count - i), through: 1, by: -1) {
                if let id = byText[String(chars[i..<(i + len)])] { out.append(id); i += len; found = true; break }
            }
            if !found { throw TrainerError.tokenizer("no piece matches the text at \(String(chars[i..<min(i + 12, chars.count)]).debugDescription)") }
        }
        return out
    }

    public func decode(_ ids: [Int32]) -> String {
        ids.map { Int($0) >= 0 && Int($0) < pieces.count ? pieces[Int($0)] : "\u{FFFD}" }.joined()
    }

    /// Ids outside the vocabulary (a model with a larger embedding can sample them) map to
    /// Qwen `<|endoftext|>` (151643), which the core treats as padding-like special text.
    public func shaperIDs(_ ids: [Int32]) -> [Int32] {
        ids.map { $0 >= 0 && Int($0) < qwenIDs.count ? qwenIDs[Int($0)] : 151_643 }
    }

    public func specialID(_ token: String) -> Int32? { byText[token] }
}
