import Tokenization

/// The real Qwen3 tokenizer as a ``TextCodec`` (HF models): model ids are Qwen ids, so
/// ``shaperIDs(_:)`` is the identity.
public struct QwenCodec: TextCodec {
    public let tokenizer: Tokenizer
    public init(tokenizer: Tokenizer) { self.tokenizer = tokenizer }
    /// Loads `tokenizer.json` (or a tiktoken rank file) with the Tokenization module.
    public init(path: String) throws { tokenizer = try Tokenizer.load(path: path) }

    public var vocabularySize: Int { tokenizer.vocabSize }
    public func encode(_ text: String) throws -> [Int32] { tokenizer.encodeIDs(text) }
    public func decode(_ ids: [Int32]) -> String { (try? tokenizer.decode(ids)) ?? "" }
    public func shaperIDs(_ ids: [Int32]) -> [Int32] { ids }
    public func specialID(_ token: String) -> Int32? { tokenizer.id(forAddedToken: token) }
}
