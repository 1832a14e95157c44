/// The subset of Python's `ast` expression nodes that BFCL's prompt-style decoder can meet.
/// Produced by `PythonParser`, consumed by `PromptDecoder` (which mirrors `resolve_ast_by_type`).
indirect enum PyNode: Sendable {
    case name(String)
    case constant(PyConstant)
    case unary(op: String, PyNode)             // "-", "+", "~", "not"
    case binary(PyNode, op: String, PyNode)    // "+", "-", "*", "/", "//", "%", "**", "@", "<<", ">>", "&", "|", "^"
    case boolOp(op: String, [PyNode])          // "and", "or"
    case compare(PyNode, [(String, PyNode)])
    case call(PyNode, args: [PyNode], keywords: [(String?, PyNode)])
    case attribute(PyNode, String)
    case subscripted(PyNode, PyNode)
    case slice(PyNode?, PyNode?, PyNode?)
    case starred(PyNode)
    case list([PyNode])
    case tuple([PyNode])
    case set([PyNode])
    case dict([(PyNode?, PyNode)])             // a nil key is a `**mapping` entry
    case ifExp(body: PyNode, test: PyNode, orElse: PyNode)
    case lambda(params: String, body: PyNode)
    case joinedStr(String)                     // an f-string (kept as source; the decoder rejects it)
    case comprehension(String)                 // list/set/dict comprehension or generator (rejected)
    case namedExpr(String, PyNode)

    /// The `ast` class name (used in "Unsupported AST type" messages).
    var className: String {
        switch self {
        case .name: "Name"
        case .constant: "Constant"
        case .unary: "UnaryOp"
        case .binary: "BinOp"
        case .boolOp: "BoolOp"
        case .compare: "Compare"
        case .call: "Call"
        case .attribute: "Attribute"
        case .subscripted: "Subscript"
        case .slice: "Slice"
        case .starred: "Starred"
        case .list: "List"
        case .tuple: "Tuple"
        case .set: "Set"
        case .dict: "Dict"
        case .ifExp: "IfExp"
        case .lambda: "Lambda"
        case .joinedStr: "JoinedStr"
        case .comprehension: "ListComp"
        case .namedExpr: "NamedExpr"
        }
    }
}

/// A Python literal constant.
enum PyConstant: Sendable {
    case none, bool(Bool), int(Int), bigInt(String), float(Double), complex(Double), str(String), bytes([UInt8]), ellipsis
}

/// A Python `SyntaxError` (or another exception) raised while decoding model text.
public struct PyDecodeError: Error, Sendable, CustomStringConvertible {
    /// The Python exception class the official decoder raises (`SyntaxError`, `AttributeError`, …).
    public var exception: String
    public var message: String
    public init(_ exception: String, _ message: String) { self.exception = exception; self.message = message }
    public var description: String { "\(exception): \(message)" }
}
