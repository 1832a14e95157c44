import Foundation
import Tokenization

/// The one way tests reach their vendored fixtures: the files of one test target's `Fixtures`
/// folder (each folder's SOURCES.md says where every file came from).
///
/// A test target makes its own from its resource bundle, once:
/// `let fixtures = TestFixtures(bundle: .module)`; ``shared`` holds the fixtures several targets
/// use (the Qwen3 vocabulary, the golden vectors). A missing file is a thrown ``FixtureError``
/// naming the folder, so the test that needed it fails and the others run.
public struct TestFixtures: Sendable {
    /// The fixtures folder inside the bundle.
    public let directory: URL

    /// The `subdirectory` folder of a test target's resource bundle (`Bundle.module` there).
    public init(bundle: Bundle, subdirectory: String = "Fixtures") {
        directory = (bundle.resourceURL ?? bundle.bundleURL).appendingPathComponent(subdirectory)
    }

    /// URL of the fixture `name` (a path relative to the folder, e.g. `golden/ping_request.bin`).
    public func url(_ name: String) throws -> URL {
        let url = directory.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else { throw FixtureError(name: name, directory: directory.path) }
        return url
    }

    /// File-system path of the fixture `name`.
    public func path(_ name: String) throws -> String { try url(name).path }

    /// Contents of the fixture `name`.
    public func data(_ name: String) throws -> Data { try Data(contentsOf: url(name)) }

    /// Contents of the fixture `name` as bytes.
    public func bytes(_ name: String) throws -> [UInt8] { [UInt8](try data(name)) }

    /// Contents of the fixture `name` as UTF-8 text.
    public func text(_ name: String) throws -> String { try String(contentsOf: url(name), encoding: .utf8) }

    /// TestSupport's own fixtures, shared by every test target.
    public static let shared = TestFixtures(bundle: .module)

    /// Path of the vendored Qwen3 tiktoken rank file.
    public static var qwenTiktokenPath: String { get throws { try shared.path("qwen.tiktoken") } }

    /// The golden vectors file (`rest_vectors_visible.json`): its bytes.
    public static func goldenVectors() throws -> Data { try shared.data("rest_vectors_visible.json") }

    private static let cachedQwen: Result<Tokenizer, any Error> = Result {
        try Tokenizer(tiktokenPath: qwenTiktokenPath, addedTokens: AddedToken.qwen3)
    }

    /// The Qwen3 tokenizer (vendored `qwen.tiktoken` + Qwen3's 26 added tokens), loaded once per
    /// test process and shared (a `Tokenizer` is immutable and thread-safe).
    public static func qwenTokenizer() throws -> Tokenizer { try cachedQwen.get() }
}

/// A fixture that is not in its folder (a resource missing from Package.swift, a typo).
public struct FixtureError: Error, CustomStringConvertible {
    /// The name asked for.
    public var name: String
    /// The folder it was looked for in.
    public var directory: String
    public var description: String { "missing test fixture \(name) in \(directory)" }
}
