import PyJSON

/// How raw model text becomes decoded calls `[{name: {param: value}}]` before BFCL checking.
public enum BFCLOutputFormat: String, Sendable, CaseIterable {
    /// Prompt-style `[func(a=1), g(b='x')]` (BFCL's `default_decode_ast_prompting`).
    case prompt
    /// Qwen function calling: `<tool_call>\n{"name": …, "arguments": {…}}\n</tool_call>` blocks (BFCL's `QwenFCHandler`).
    case qwenFC = "qwen-fc"
    /// ToolRL's format: the last `<tool_call>` block, one `{"name", "parameters"}` JSON per line, `none` lines skipped.
    case toolrl

    /// Decodes `text`; throws the decoder's exception (a decode failure).
    public func decode(_ text: String, language: BFCLLanguage) throws(PyDecodeError) -> PyValue {
        switch self {
        case .prompt: return try PromptDecoder.decode(text, language: language)
        case .qwenFC: return try QwenFCDecoder.decode(text)
        case .toolrl: return try ToolRLDecoder.decode(text)
        }
    }
}

/// BFCL's `QwenFCHandler.decode_ast`: the text after `</think>`, every `<tool_call>\n…\n</tool_call>`
/// body parsed as JSON (bodies that fail are skipped), each becoming `{name: arguments}`.
public enum QwenFCDecoder {
    public static func decode(_ raw: String) throws(PyDecodeError) -> PyValue {
        var text = raw
        if let think = raw.range(of: "</think>", options: .backwards) {
            text = String(raw[think.upperBound...])
            while text.hasPrefix("\n") { text.removeFirst() }
        }
        var calls: [PyValue] = []
        for match in toolCallBlock.findAll(text) {
            guard let body = match[1], let v = try? PyJSON.loads(body) else { continue }
            calls.append(PyValue(json: v))
        }
        var out: [PyValue] = []
        for call in calls {
            guard case .dict(let d) = call else {
                throw PyDecodeError("ValueError", "Model did not return a list of function calls")
            }
            guard let name = d["name"] else { throw PyDecodeError("KeyError", "'name'") }
            guard let args = d["arguments"] else { throw PyDecodeError("KeyError", "'arguments'") }
            guard case .dict = args else { throw PyDecodeError("AttributeError", "'\(args.pyType.rawValue)' object has no attribute 'items'") }
            guard name.isHashable else { throw PyDecodeError("TypeError", "unhashable type: '\(name.pyType.rawValue)'") }
            out.append(.dict(PyDict([(name, args)])))
        }
        return .list(out)
    }

    private static let toolCallBlock = PyRegex(#"<tool_call>\n(.*?)\n</tool_call>"#, dotAll: true)
}

/// The ToolRL output format (`<think>…</think>\n<tool_call>\n{"name": …, "parameters": {…}}\n…</tool_call>`):
/// the last `<tool_call>` block (to the end if unclosed), one JSON call per non-empty line, lines reading
/// `none` skipped; `parameters` (or `arguments`, also as a JSON string) become the call's arguments.
/// No block means no call (`[]`); a line that is not a JSON call object fails the decode.
public enum ToolRLDecoder {
    public static func decode(_ raw: String) throws(PyDecodeError) -> PyValue {
        guard let open = raw.range(of: "<tool_call>", options: .backwards) else { return .list([]) }
        var block = String(raw[open.upperBound...])
        if let close = block.range(of: "</tool_call>") { block = String(block[..<close.lowerBound]) }
        var out: [PyValue] = []
        for line in block.split(separator: "\n") {
            let text = pyStrip(String(line))
            if text.isEmpty || text.lowercased() == "none" { continue }
            let value: JSONValue
            do { value = try PyJSON.loads(text) } catch { throw PyDecodeError("JSONDecodeError", error.description) }
            guard case .dict(let d) = PyValue(json: value), let name = d["name"]?.stringValue else {
                throw PyDecodeError("ValueError", "not a tool call: \(text)")
            }
            var args = d["parameters"] ?? d["arguments"] ?? .dict(PyDict())
            if case .str(let s) = args, let parsed = try? PyJSON.loads(s) { args = PyValue(json: parsed) }
            guard case .dict = args else { throw PyDecodeError("ValueError", "parameters of \(name) are not an object") }
            out.append(.dict(PyDict([(.str(name), args)])))
        }
        return .list(out)
    }
}
