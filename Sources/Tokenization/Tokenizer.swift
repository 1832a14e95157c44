import Foundation

/// A Qwen2/Qwen3-compatible byte-level BPE tokenizer, exact against HF `tokenizers` 0.23.3:
/// added tokens split first on the raw text, NFC on the rest, the Qwen Split regex, then BPE.
///
/// Immutable after loading and safe to share between threads: every call allocates its own
/// scratch space, and nothing is cached across calls.
public final class Tokenizer: Sendable {
    /// Token bytes (model vocabulary and added tokens) and the byte-string → id index.
    let store: TokenStore
    let pairs: PairTable
    /// Single-byte token of each byte value.
    let byteIDs: [Int32]
    /// Per id: 0 model token, 1 added token, 2 special added token.
    let addedKind: [UInt8]
    /// The added tokens, in file order.
    public let addedTokens: [AddedToken]
    let addedByContent: [String: Int32]
    let rawMatcher: AddedTokenMatcher
    let normalizedMatcher: AddedTokenMatcher
    /// HF `ignore_merges`: a pre-token that is a whole vocabulary entry becomes that token.
    let ignoreMerges: Bool
    /// Whether the normalizer is NFC (otherwise none).
    let nfc: Bool

    /// Everything a loader produces.
    struct Components {
        var vocabSize: Int
        var modelTokens: [(Int32, ArraySlice<UInt8>)]
        var merges: (TokenStore) throws -> PairTable
        var addedTokens: [AddedToken]
        var ignoreMerges: Bool
        var nfc: Bool
    }

    init(components c: Components) throws {
        var tokens = c.modelTokens
        var isModel = [Bool](repeating: false, count: c.vocabSize)
        for (id, _) in tokens where id >= 0 && Int(id) < c.vocabSize { isModel[Int(id)] = true }
        var kind = [UInt8](repeating: 0, count: c.vocabSize)
        var byContent: [String: Int32] = [:]
        for t in c.addedTokens {
            guard t.id >= 0, Int(t.id) < c.vocabSize else { throw TokenizerError.invalidFile("added token id \(t.id) out of range") }
            guard !t.content.isEmpty else { throw TokenizerError.invalidFile("empty added token \(t.id)") }
            kind[Int(t.id)] = t.special ? 2 : 1
            byContent[t.content] = t.id
            if !isModel[Int(t.id)] { tokens.append((t.id, ArraySlice(Array(t.content.utf8)))) }
        }
        store = try TokenStore(vocabSize: c.vocabSize, tokens: tokens, indexed: { isModel[Int($0)] })
        var bytes = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            var x = UInt8(b)
            let id = store.lookup(&x, 1)
            guard id >= 0 else { throw TokenizerError.unsupported("byte 0x\(String(b, radix: 16)) has no single-byte token (byte-level BPE needs all 256)") }
            bytes[b] = id
        }
        byteIDs = bytes
        pairs = try c.merges(store)
        addedKind = kind
        addedTokens = c.addedTokens
        addedByContent = byContent
        rawMatcher = AddedTokenMatcher(c.addedTokens.filter { !$0.normalized })
        normalizedMatcher = AddedTokenMatcher(c.addedTokens.filter { $0.normalized })
        ignoreMerges = c.ignoreMerges
        nfc = c.nfc
    }

    /// Loads a HF `tokenizer.json` (path ending in `.json`) or a tiktoken rank file (any other
    /// extension, e.g. `.tiktoken`) with Qwen3's added tokens.
    public static func load(path: String) throws -> Tokenizer {
        if path.lowercased().hasSuffix(".json") { return try Tokenizer(tokenizerJSONPath: path) }
        return try Tokenizer(tiktokenPath: path)
    }

    /// Loads a HF `tokenizer.json` (byte-level BPE with the Qwen pre-tokenizer; anything else is
    /// rejected with `TokenizerError.unsupported`).
    public convenience init(tokenizerJSONPath: String) throws {
        try self.init(components: TokenizerJSONLoader.load(path: tokenizerJSONPath))
    }

    /// Loads a tiktoken rank file (`base64 rank` per line; the rank is the id) plus added tokens.
    /// Merges are derived as HF's tiktoken conversion does, so results equal the converted `tokenizer.json`.
    public convenience init(tiktokenPath: String, addedTokens: [AddedToken] = AddedToken.qwen3) throws {
        try self.init(components: TiktokenLoader.load(path: tiktokenPath, addedTokens: addedTokens))
    }

    /// Number of ids (one past the largest id, added tokens included).
    public var vocabSize: Int { store.vocabSize }

    /// Whether `id` is a `special: true` added token.
    public func isSpecial(_ id: Int32) -> Bool { id >= 0 && Int(id) < addedKind.count && addedKind[Int(id)] == 2 }

    /// Whether `id` is an added token (special or not).
    public func isAddedToken(_ id: Int32) -> Bool { id >= 0 && Int(id) < addedKind.count && addedKind[Int(id)] != 0 }

    /// Whether `id` exists.
    public func contains(_ id: Int32) -> Bool { id >= 0 && Int(id) < store.vocabSize && store.present[Int(id)] }

    /// The index of the first id in `ids` that does not exist, or nil (one call for a whole batch).
    public func firstUnknownID(in ids: UnsafeBufferPointer<Int32>) -> Int? {
        let vocab = store.vocabSize, present = store.present
        for i in 0..<ids.count {
            let id = ids[i]
            if id < 0 || Int(id) >= vocab || !present[Int(id)] { return i }
        }
        return nil
    }

    /// The id of an added token by its content (e.g. `<|endoftext|>`).
    public func id(forAddedToken content: String) -> Int32? { addedByContent[content] }

    /// The model-vocabulary id of exactly these bytes (no BPE), if any.
    public func id(forBytes bytes: [UInt8]) -> Int32? {
        let id = bytes.withUnsafeBufferPointer { store.lookup($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, $0.count) }
        return id >= 0 ? id : nil
    }

    /// The bytes of one token (an added token's bytes are its UTF-8 content). The buffer points into
    /// the tokenizer's storage: no allocation, valid as long as the tokenizer is alive.
    public func tokenBytes(_ id: Int32) throws -> UnsafeBufferPointer<UInt8> {
        guard contains(id) else { throw TokenizerError.unknownTokenID(Int(id)) }
        let s = Int(store.offsets[Int(id)]), e = Int(store.offsets[Int(id) + 1])
        return UnsafeBufferPointer(rebasing: UnsafeBufferPointer(store.bytes)[s..<e])
    }

    /// The byte length of one token.
    public func tokenLength(_ id: Int32) throws -> Int {
        guard contains(id) else { throw TokenizerError.unknownTokenID(Int(id)) }
        return store.tokenLength(id)
    }
}
