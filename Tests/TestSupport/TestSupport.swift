import Foundation
import Tokenization

/// Shared test fixtures (the vendored Qwen3 vocabulary and friends) for every test target.
public enum TestFixtures {
    /// URL of a file in `Tests/TestSupport/Fixtures`.
    public static func url(_ name: String) -> URL {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
            fatalError("missing test fixture \(name)")
        }
        return url
    }

    /// Path of the vendored Qwen3 tiktoken rank file.
    public static var qwenTiktokenPath: String { url("qwen.tiktoken").path }

    private static let cachedQwen: Result<Tokenizer, any Error> = Result {
        try Tokenizer(tiktokenPath: qwenTiktokenPath, addedTokens: AddedToken.qwen3)
    }

    /// The Qwen3 tokenizer (vendored `qwen.tiktoken` + Qwen3's 26 added tokens), loaded once per
    /// test process and shared (a `Tokenizer` is immutable and thread-safe).
    public static func qwenTokenizer() throws -> Tokenizer { try cachedQwen.get() }
}
