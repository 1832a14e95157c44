#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A structural event in a response: a tag written in text (or as an added token) or a special token.
struct TagMark {
    enum Kind: UInt8 {
        case openThink, closeThink, openToolCall, closeToolCall, openResponse, closeResponse, special
    }
    var kind: Kind
    var start: Int
    var end: Int
}

/// Finds the tags `<think>`, `</think>`, `<tool_call>`, `</tool_call>` (and the `<toolcall>` spelling),
/// `<response>`, `</response>` in a byte range. Tags are recognised wherever they occur in text, as
/// the hermes-style tool parsers and the released regexes do; added tokens whose text is a tag arrive
/// here as ordinary bytes.
enum TagScanner {
    private static let table: [(bytes: [UInt8], kind: TagMark.Kind)] = [
        (Array("<think>".utf8), .openThink),
        (Array("</think>".utf8), .closeThink),
        (Array("<tool_call>".utf8), .openToolCall),
        (Array("</tool_call>".utf8), .closeToolCall),
        (Array("<toolcall>".utf8), .openToolCall),
        (Array("</toolcall>".utf8), .closeToolCall),
        (Array("<response>".utf8), .openResponse),
        (Array("</response>".utf8), .closeResponse),
    ]

    /// The tag kind whose text equals `bytes[start..<end]` exactly, if any (used for added tokens).
    static func exactTag(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> TagMark.Kind? {
        for (tag, kind) in table where tag.count == end - start && matches(tag, bytes, start) { return kind }
        return nil
    }

    /// Appends every tag in `bytes[start..<end]` to `marks`, left to right, non-overlapping.
    static func scan(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, into marks: inout [TagMark]) {
        guard start < end, let base = bytes.baseAddress else { return }
        var i = start
        while i < end {
            // memchr is vectorised: most bytes are not '<'.
            guard let hit = memchr(base + i, 0x3C /* < */, end - i) else { return }
            i = UnsafeRawPointer(hit) - UnsafeRawPointer(base)
            var matched = false
            for (tag, kind) in table where i + tag.count <= end && matches(tag, bytes, i) {
                marks.append(TagMark(kind: kind, start: i, end: i + tag.count))
                i += tag.count
                matched = true
                break
            }
            if !matched { i &+= 1 }
        }
    }

    @inline(__always)
    private static func matches(_ tag: [UInt8], _ bytes: UnsafeBufferPointer<UInt8>, _ at: Int) -> Bool {
        var k = 0
        while k < tag.count {
            if bytes[at + k] != tag[k] { return false }
            k += 1
        }
        return true
    }
}
