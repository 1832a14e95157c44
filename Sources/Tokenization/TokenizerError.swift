/// Errors raised while loading a tokenizer or decoding ids.
public enum TokenizerError: Error, Equatable, CustomStringConvertible, Sendable {
    /// An id that is neither in the model vocabulary nor an added token.
    case unknownTokenID(Int)
    /// The file could not be read or is malformed (the message says where).
    case invalidFile(String)
    /// The file is well formed but asks for something this implementation does not do
    /// (another pre-tokenizer regex, a WordPiece model, `lstrip` added tokens, …).
    case unsupported(String)

    public var description: String {
        switch self {
        case .unknownTokenID(let id): return "unknown token id \(id)"
        case .invalidFile(let why): return "invalid tokenizer file: \(why)"
        case .unsupported(let why): return "unsupported tokenizer configuration: \(why)"
        }
    }
}
