import Foundation
import TestSupport
import Regions
import Shaping

/// This target's vendored fixtures (Fixtures/SOURCES.md); the golden vectors are TestSupport's.
let fixtures = TestFixtures(bundle: .module)

/// The golden weight cases, loaded once.
let goldenCases: [WeightCase] = (try? WeightCase.load(jsonData: TestFixtures.goldenVectors())) ?? []

func goldenCase(_ id: String) -> WeightCase? { goldenCases.first { $0.id.hasPrefix(id) } }

/// The added tokens of the Qwen3 vocabulary that tests use (text → whether it is an added token).
let addedTokenTexts: Set<String> = [
    "<think>", "</think>", "<tool_call>", "</tool_call>", "<|im_end|>", "<|endoftext|>", "<|im_start|>",
    "<tool_response>", "</tool_response>",
]

/// A response given as its token texts (tests choose the split; byte-level pieces may be given as
/// raw byte arrays with `.bytes`).
struct TokenRow {
    enum Piece { case text(String), bytes([UInt8]) }
    var bytes: [UInt8] = []
    var starts: [Int] = [0]
    var added: [Bool] = []
    var texts: [String] = []

    init(_ pieces: [Piece]) {
        for p in pieces {
            switch p {
            case .text(let s):
                bytes += Array(s.utf8); added.append(addedTokenTexts.contains(s)); texts.append(s)
            case .bytes(let b):
                bytes += b; added.append(false); texts.append("\(b)")
            }
            starts.append(bytes.count)
        }
    }

    init(_ texts: String...) { self.init(texts.map { .text($0) }) }
    init(tokens: [String]) { self.init(tokens.map { .text($0) }) }

    var count: Int { added.count }

    func categories(_ options: RegionOptions = RegionOptions()) -> [TokenCategory] {
        RegionParser(options: options).categorize(bytes: bytes, tokenStarts: starts, isAdded: added)
    }

    /// Token texts with their categories, for readable failure messages.
    func describe(_ cats: [TokenCategory]) -> String {
        zip(texts, cats).map { "\($0.0.debugDescription):\($0.1.name)" }.joined(separator: " ")
    }
}
