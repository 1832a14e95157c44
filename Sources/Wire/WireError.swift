/// Typed error codes carried by an error reply (`"error": {"code": …, "message": …}`).
/// The raw values are the wire spelling (see protocol/PROTOCOL.md).
public enum WireErrorCode: String, Sendable, CaseIterable {
    /// Frame 0 is not a JSON object, a required key is missing or has the wrong type, frames are misnumbered.
    case badHeader = "bad_header"
    /// `"v"` is not a protocol version this server speaks.
    case version
    /// A tensor has a dtype that is not accepted for its name.
    case dtype
    /// A tensor's shape disagrees with the others or with its frames' byte count.
    case shape
    /// A server limit (message bytes, B·T, V, batch) is exceeded.
    case limit
    /// An input id is outside the tokenizer's vocabulary.
    case tokenID = "token_id"
    /// A string (ground truth) is not valid UTF-8.
    case utf8
    /// A number is out of its range or not finite: a header integer (id, step, vocab, a dimension,
    /// temperature), a prompt length, a NaN/±inf entropy, logit, log-sum-exp or mask value, or a
    /// result that came out non-finite (e.g. a schedule whose γ overflows).
    case value
    /// The server's queue is full or it is shutting down; retry later.
    case busy
    /// The request did not finish within the server's per-request timeout.
    case timeout
    /// The shaping core failed; the message says why.
    case `internal`
}

/// An error that becomes an error reply: a code from ``WireErrorCode`` and a human-readable message.
public struct WireError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: WireErrorCode
    public var message: String
    public init(_ code: WireErrorCode, _ message: String) { self.code = code; self.message = message }
    public var description: String { "\(code.rawValue): \(message)" }
}
