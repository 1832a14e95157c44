import Testing
import ToolEval

/// The BFCL AST checker rules, one test per rule, with the official error type names.
private let schema = """
{"name": "geo.area", "parameters": {"type": "dict", "properties": {
  "base": {"type": "integer"}, "unit": {"type": "string"}, "scale": {"type": "float"},
  "tags": {"type": "array", "items": {"type": "string"}}, "point": {"type": "tuple", "items": {"type": "integer"}},
  "opts": {"type": "dict"}, "flag": {"type": "boolean"},
  "rows": {"type": "array", "items": {"type": "dict"}}}, "required": ["base"]}}
"""
private let answer = """
{"geo.area": {"base": [10], "unit": ["square meters", ""], "scale": [1.5, ""], "tags": [["a b", "C"], ""],
  "point": [[1, 2], ""], "opts": [{"mode": ["fast"], "level": [1, ""]}, ""], "flag": [true, ""],
  "rows": [[{"k": ["x"]}], ""]}}
"""

private func check(_ output: String, category: String = "simple_python", underscoreToDot: Bool = false,
                   functions: String = schema, answers: String = answer) throws -> BFCLVerdict {
    try BFCLChecker(underscoreToDot: underscoreToDot).check(
        functions: py("[\(functions)]").sequenceValue!, output: py(output).sequenceValue!,
        possibleAnswer: py("[\(answers)]").sequenceValue!, language: BFCLLanguage(category: category), category: category)
}

@Test func correctCallAndOptionalParameters() throws {
    #expect(try check(#"[{"geo.area": {"base": 10}}]"#).valid)
    #expect(try check(#"[{"geo.area": {"base": 10, "unit": "Square-Meters", "scale": 1.5, "flag": true}}]"#).valid)
}

@Test func functionNameAndCounts() throws {
    #expect(try check(#"[{"geo_area": {"base": 10}}]"#).errorType == "simple_function_checker:wrong_func_name")
    #expect(try check(#"[{"geo_area": {"base": 10}}]"#, underscoreToDot: true).valid)   // FC models: '.' -> '_'
    #expect(try check(#"[]"#).errorType == "simple_function_checker:wrong_count")
    #expect(try check(#"[{"geo.area": {"base": 10}}, {"geo.area": {"base": 10}}]"#, category: "multiple").errorType == "multiple_function_checker:wrong_count")
}

@Test func parameterPresence() throws {
    #expect(try check(#"[{"geo.area": {"unit": "m"}}]"#).errorType == "simple_function_checker:missing_required")
    #expect(try check(#"[{"geo.area": {"base": 10, "color": "red"}}]"#).errorType == "simple_function_checker:unexpected_param")
    let strict = answer.replacingOccurrences(of: #""unit": ["square meters", ""]"#, with: #""unit": ["square meters"]"#)
    #expect(try check(#"[{"geo.area": {"base": 10}}]"#, answers: strict).errorType == "simple_function_checker:missing_optional")
}

@Test func pythonTypes() throws {
    #expect(try check(#"[{"geo.area": {"base": "10"}}]"#).errorType == "type_error:simple")
    #expect(try check(#"[{"geo.area": {"base": 10.0}}]"#).errorType == "type_error:simple")
    #expect(try check(#"[{"geo.area": {"base": true}}]"#).errorType == "type_error:simple")     // bool is not int
    let intScale = try check(#"[{"geo.area": {"base": 10, "scale": 1}}]"#)                     // int -> float allowed
    #expect(intScale.errorType == "value_error:others")                                         // ... but 1.0 != 1.5
    let answers15 = answer.replacingOccurrences(of: "[1.5, \"\"]", with: "[1.0, \"\"]")
    #expect(try check(#"[{"geo.area": {"base": 10, "scale": 1}}]"#, answers: answers15).valid)
    // Upstream quirk: an optional marker "" among the accepted lists skips the nested check.
    #expect(try check(#"[{"geo.area": {"base": 10, "tags": ["a b", 3]}}]"#).errorType == "value_error:list/tuple")
    let required = answer.replacingOccurrences(of: #"[["a b", "C"], ""]"#, with: #"[["a b", "C"]]"#)
    #expect(try check(#"[{"geo.area": {"base": 10, "tags": ["a b", 3]}}]"#, answers: required).errorType == "type_error:nested")
}

@Test func valueChecks() throws {
    #expect(try check(#"[{"geo.area": {"base": 11}}]"#).errorType == "value_error:others")
    #expect(try check(#"[{"geo.area": {"base": 10, "unit": "square feet"}}]"#).errorType == "value_error:string")
    #expect(try check(#"[{"geo.area": {"base": 10, "unit": "SQUARE_meters."}}]"#).valid)      // standardised
    #expect(try check(#"[{"geo.area": {"base": 10, "tags": ["AB", "c"]}}]"#).valid)
    #expect(try check(#"[{"geo.area": {"base": 10, "tags": ["C", "a b"]}}]"#).errorType == "value_error:list/tuple")
    #expect(try check(#"[{"geo.area": {"base": 10, "tags": []}}]"#).valid)   // upstream quirk: "" iterates as []
    #expect(try check(#"[{"geo.area": {"base": 10, "point": {"__tuple__": [1, 2]}}}]"#).valid)
    #expect(try check(#"[{"geo.area": {"base": 10, "point": [2, 1]}}]"#).errorType == "value_error:list/tuple")
}

@Test func dictAndListOfDictChecks() throws {
    #expect(try check(#"[{"geo.area": {"base": 10, "opts": {"mode": "FAST"}}}]"#).valid)
    #expect(try check(#"[{"geo.area": {"base": 10, "opts": {"mode": "fast", "x": 1}}}]"#).errorType == "value_error:dict_key")
    #expect(try check(#"[{"geo.area": {"base": 10, "opts": {"mode": "slow"}}}]"#).errorType == "value_error:dict_value")
    #expect(try check(#"[{"geo.area": {"base": 10, "opts": {"level": 1}}}]"#).errorType == "value_error:dict_key")
    #expect(try check(#"[{"geo.area": {"base": 10, "rows": [{"k": "x"}]}}]"#).valid)
    #expect(try check(#"[{"geo.area": {"base": 10, "rows": [{"k": "x"}, {"k": "x"}]}}]"#).errorType == "value_error:list_dict_count")
}

@Test func parallelMatchingIsOrderFree() throws {
    let two = "\(answer), {\"geo.area\": {\"base\": [20]}}"
    #expect(try check(#"[{"geo.area": {"base": 20}}, {"geo.area": {"base": 10}}]"#, category: "parallel", answers: two).valid)
    #expect(try check(#"[{"geo.area": {"base": 20}}, {"geo.area": {"base": 20}}]"#, category: "parallel", answers: two).errorType
            == "parallel_function_checker_no_order:cannot_find_match")
    #expect(try check(#"[{"geo.area": {"base": 20}}]"#, category: "live_parallel_multiple", answers: two).errorType
            == "parallel_function_checker_no_order:wrong_count")
}

@Test func javaValuesAreConvertedFromStrings() throws {
    let fn = """
    {"name": "Svc.update", "parameters": {"type": "dict", "properties": {"id": {"type": "long"}, "on": {"type": "boolean"},
     "ids": {"type": "ArrayList", "items": {"type": "integer"}}, "meta": {"type": "HashMap"}, "name": {"type": "String"}}, "required": ["id"]}}
    """
    let ans = #"{"Svc.update": {"id": [42], "on": [true, ""], "ids": [[1, 2], ""], "meta": [{"k": ["v"]}, ""], "name": ["x", ""]}}"#
    func java(_ out: String) throws -> BFCLVerdict { try check(out, category: "simple_java", functions: fn, answers: ans) }
    #expect(try java(#"[{"Svc.update": {"id": "42L", "on": "true", "ids": "new ArrayList<>(Arrays.asList(1, 2))"}}]"#).valid)
    #expect(try java(#"[{"Svc.update": {"id": "42L", "meta": "new HashMap<String, String>() {{ put(\"k\", \"v\"); }}"}}]"#).valid)
    #expect(try java(#"[{"Svc.update": {"id": "42"}}]"#).errorType == "type_error:simple")      // long needs the L suffix
    #expect(try java(#"[{"Svc.update": {"id": 42}}]"#).errorType == "type_error:java")
    #expect(try java(#"[{"Svc.update": {"id": "42L", "name": "\"x\""}}]"#).errorType == "value_error:string")
}

@Test func javascriptValuesAreConvertedFromStrings() throws {
    let fn = """
    {"name": "setup", "parameters": {"type": "dict", "properties": {"n": {"type": "integer"}, "list": {"type": "array", "items": {"type": "String"}},
     "cfg": {"type": "dict"}, "big": {"type": "Bigint"}}, "required": ["n"]}}
    """
    let ans = #"{"setup": {"n": [3], "list": [["a", "b"], ""], "cfg": [{"k": ["v"], "n": [2]}, ""], "big": [10, ""]}}"#
    func js(_ out: String) throws -> BFCLVerdict { try check(out, category: "simple_javascript", functions: fn, answers: ans) }
    #expect(try js(#"[{"setup": {"n": "3", "list": "['a', 'b']", "cfg": "{k: 'v', n: 2}", "big": "10n"}}]"#).valid)
    #expect(try js(#"[{"setup": {"n": 3}}]"#).errorType == "type_error:js")
    #expect(try js(#"[{"setup": {"n": "3.5"}}]"#).errorType == "type_error:simple")
}

@Test func relevanceAndFormat() throws {
    let entry = BFCLEntry(id: "irrelevance_0", category: "irrelevance", functions: [], groundTruth: [])
    let eval = BFCLEvaluator()
    #expect(eval.evaluate(entry: entry, decoded: py("[]")).valid)
    #expect(eval.evaluate(entry: entry, decoded: py("[{}]")).valid)
    #expect(eval.evaluate(entry: entry, decoded: py("[\"I cannot help.\"]")).valid)
    #expect(eval.evaluate(entry: entry, decoded: nil, decodeError: "SyntaxError").valid)
    #expect(eval.evaluate(entry: entry, decoded: py(#"[{"f": {}}]"#)).errorType == "irrelevance_error:decoder_success")
    var relevance = entry
    relevance.category = "live_relevance"
    #expect(eval.evaluate(entry: relevance, decoded: py(#"[{"f": {}}]"#)).valid)
    #expect(eval.evaluate(entry: relevance, decoded: py("[]")).errorType == "relevance_error:decoder_failed")
    var ast = entry
    ast.category = "simple_python"
    #expect(eval.evaluate(entry: ast, decoded: py(#"["text"]"#)).errorType == "ast_decoder:decoder_wrong_output_format")
    #expect(eval.evaluate(entry: ast, decoded: nil, decodeError: "x").errorType == "ast_decoder:decoder_failed")
}

@Test func standardiseString() {
    #expect(BFCLChecker.standardize("April 1, 2024") == BFCLChecker.standardize("april 1 2024"))
    #expect(BFCLChecker.standardize("It's a_b-c*d^e/f.") == "it\"sabcdef")
}
