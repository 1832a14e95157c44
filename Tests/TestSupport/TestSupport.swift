import Foundation

/// Shared test fixtures (the vendored Qwen3 vocabulary and friends) for every test target.
public enum TestFixtures {
    /// URL of a file in `Tests/TestSupport/Fixtures`.
    public static func url(_ name: String) -> URL {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
            fatalError("missing test fixture \(name)")
        }
        return url
    }
}
