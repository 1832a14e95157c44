/// A decoding error, worded like Python's `json.JSONDecodeError`.
///
/// `offset` is the byte offset in the UTF-8 input; `description` reports Python's line, column and
/// character position (`Expecting value: line 1 column 1 (char 0)`).
public struct JSONError: Error, Sendable, CustomStringConvertible {
    /// The bare message, e.g. `Expecting value`.
    public let message: String
    /// Byte offset into the UTF-8 input.
    public let offset: Int
    /// 1-based line of the error.
    public let line: Int
    /// 1-based column, in characters (code points), as Python counts.
    public let column: Int
    /// Character (code point) offset, Python's `pos`.
    public let charOffset: Int

    /// An error at `offset` (bytes) with Python's line, column and character position.
    public init(message: String, offset: Int, line: Int = 1, column: Int = 1, charOffset: Int = 0) {
        self.message = message
        self.offset = offset
        self.line = line
        self.column = column
        self.charOffset = charOffset
    }

    /// Builds the error, locating `offset` in `bytes` as Python does (code points, not bytes).
    static func at(_ message: String, _ offset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> JSONError {
        var line = 1, chars = 0, charsAtLineStart = 0
        let end = min(offset, bytes.count)
        var i = 0
        while i < end {
            let b = bytes[i]
            if b & 0xC0 != 0x80 { chars += 1 }
            if b == 0x0A { line += 1; charsAtLineStart = chars }
            i += 1
        }
        // Python: colno = pos - doc.rindex('\n') (1-based on later lines), or pos + 1 on line 1.
        let column = line == 1 ? chars + 1 : chars - charsAtLineStart + 1
        return JSONError(message: message, offset: offset, line: line, column: column, charOffset: chars)
    }

    public var description: String { "\(message): line \(line) column \(column) (char \(charOffset))" }
}
