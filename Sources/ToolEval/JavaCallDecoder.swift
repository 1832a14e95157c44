enum JavaCallDecoder {
    static func decode(_ source: String) throws(PyDecodeError) -> PyValue { throw PyDecodeError("SyntaxError", "todo") }
}
enum JSCallDecoder {
    static func decode(_ source: String) throws(PyDecodeError) -> PyValue { throw PyDecodeError("SyntaxError", "todo") }
}
