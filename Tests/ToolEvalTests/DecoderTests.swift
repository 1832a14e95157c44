import Testing
import ToolEval

/// The prompt-style decoder's documented behaviour, quirks included.
private func decode(_ text: String, _ language: BFCLLanguage = .python) throws -> PyValue {
    try PromptDecoder.decode(text, language: language)
}

@Test func promptDecoderBasics() throws {
    #expect(try decode("[a.b.c(x=1, y='s'), g()]").strictlyEquals(py(#"[{"a.b.c": {"x": 1, "y": "s"}}, {"g": {}}]"#)))
    #expect(try decode("f(x=1), g(y=2.0)").strictlyEquals(py(#"[{"f": {"x": 1}}, {"g": {"y": 2.0}}]"#)))   // brackets added
    #expect(try decode("  [f(x=1)]\n").strictlyEquals(py(#"[{"f": {"x": 1}}]"#)))
    #expect(try decode("[]").strictlyEquals(py("[]")))
    #expect(try decode("[f(x=None, y=True, z=[1, {'k': (1, 2)}])]").strictlyEquals(
        py(#"[{"f": {"x": null, "y": true, "z": [1, {"k": {"__tuple__": [1, 2]}}]}}]"#)))
}

@Test func promptDecoderQuirks() throws {
    // Backticks/newlines/spaces are stripped only at the ends: a fenced block keeps "python\n" and fails.
    #expect(throws: PyDecodeError.self) { try decode("```python\n[f(x=1)]\n```") }
    #expect(try decode("`[f(x=1)]`").strictlyEquals(py(#"[{"f": {"x": 1}}]"#)))
    #expect(try decode("[f(1, 2, x=3)]").strictlyEquals(py(#"[{"f": {"x": 3}}]"#)))          // positional dropped
    #expect(try decode("[f(x=+2, y=not 1, z=~5, w=-1.5)]").strictlyEquals(py(#"[{"f": {"x": -2, "y": -1, "z": -5, "w": -1.5}}]"#)))
    #expect(try decode("[f(x=3*4, y=2**-1, z='a'+'b', w=-7//2)]").strictlyEquals(py(#"[{"f": {"x": 12, "y": 0.5, "z": "ab", "w": -4}}]"#)))
    #expect(try decode("[f(x='it''s')]").strictlyEquals(py(#"[{"f": {"x": "its"}}]"#)))     // implicit concatenation
    #expect(try decode("[f(x=arr[0], y=g(1, 'a'), z=g(k=1), w=..., v=name)]").strictlyEquals(
        py(#"[{"f": {"x": "arr[0]", "y": "g(1, 'a')", "z": {"g": {"k": 1}}, "w": "...", "v": "name"}}]"#)))
    #expect(throws: PyDecodeError.self) { try decode("'[f(x=1)]'") }        // quoted: brackets are added around the quotes
    #expect(try decode("[f(x=1, x=2)]").strictlyEquals(py(#"[{"f": {"x": 2}}]"#)))          // last repeat wins
}

@Test func promptDecoderFailuresNameThePythonException() {
    func failure(_ text: String) -> String? {
        do { _ = try PromptDecoder.decode(text); return nil } catch { return error.exception }
    }
    #expect(failure("[f(x=1)") == nil)                      // "]" is added
    #expect(failure("[f(x=)]") == "SyntaxError")
    #expect(failure("[f(x=a.b)]") == "Exception")            // Attribute: unsupported AST type
    #expect(failure("[f(x=-a)]") == "AttributeError")
    #expect(failure("[f(x=lambda: 1)]") == "TypeError")
    #expect(failure("[f(x=1/0)]") == "ZeroDivisionError")
    #expect(failure("[1, 2]") == "AssertionError")
    #expect(failure("Sure! [f(x=1)]") == "SyntaxError")
}

@Test func javaDecoderKeepsSourceText() throws {
    #expect(try decode("[Svc.update(ids=new ArrayList<>(Arrays.asList(1L, 2L)), on=true, name=\"x\", n=a + b)]", .java).strictlyEquals(
        py(#"[{"Svc.update": {"ids": "new ArrayList<>(Arrays.asList(1L, 2L))", "on": "true", "name": "x", "n": "a+b"}}]"#)))
    #expect(try decode("[A.b(arr=new int[]{1, 2}, m=new HashMap<String, Object>() {{ put(\"k\", 1); }})]", .java).strictlyEquals(
        py(#"[{"A.b": {"arr": "new int[]{1,2}", "m": "new HashMap<String,Object>()"}}]"#)))
    #expect(throws: PyDecodeError.self) { try decode("[A.b(url=http://x.org/a)]", .java) }
}

@Test func javascriptDecoderKeepsSourceText() throws {
    #expect(try decode("[foo(a=\"x\", b=5, c=true, d=[1, 2], e={k: 'v'}, f=10n)]", .javascript).strictlyEquals(
        py(#"[{"foo": {"a": "x", "b": "5", "c": "true", "d": "[1, 2]", "e": "{k: 'v'}", "f": "10n"}}]"#)))
    #expect(throws: PyDecodeError.self) { try decode("[f(t=1.2.3)]", .javascript) }
    #expect(throws: PyDecodeError.self) { try decode("[f(s=Hello, World!)]", .javascript) }
    #expect(try decode("[f(a=1), g(b=2)]", .javascript).pyType == .none)   // a sequence expression is not a call
}

@Test func qwenFunctionCallingBlocks() throws {
    let text = "<think>\nplan\n</think>\n\n<tool_call>\n{\"name\": \"spotify.play\", \"arguments\": {\"artist\": \"A\", \"duration\": 20}}\n</tool_call>\n<tool_call>\n{bad json}\n</tool_call>"
    #expect(try QwenFCDecoder.decode(text).strictlyEquals(py(#"[{"spotify.play": {"artist": "A", "duration": 20}}]"#)))
    #expect(try QwenFCDecoder.decode("no calls").strictlyEquals(py("[]")))
    #expect(throws: PyDecodeError.self) { try QwenFCDecoder.decode("<tool_call>\n{\"name\": \"f\"}\n</tool_call>") }
}

@Test func toolrlBlocks() throws {
    let text = "<think> x </think>\n<tool_call>\n{\"name\": \"old\", \"parameters\": {}}\n</tool_call>\n<tool_call>\n{\"name\": \"f\", \"parameters\": {\"a\": 1}}\nnone\n{\"name\": \"g\", \"parameters\": {}}\n</tool_call>"
    #expect(try ToolRLDecoder.decode(text).strictlyEquals(py(#"[{"f": {"a": 1}}, {"g": {}}]"#)))
    #expect(try ToolRLDecoder.decode("<response>hi</response>").strictlyEquals(py("[]")))
    #expect(throws: PyDecodeError.self) { try ToolRLDecoder.decode("<tool_call>\nnot json\n</tool_call>") }
    #expect(try BFCLOutputFormat(rawValue: "toolrl")!.decode(text, language: .python).strictlyEquals(py(#"[{"f": {"a": 1}}, {"g": {}}]"#)))
}
