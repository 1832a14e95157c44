/// The language a BFCL category's values are written in (the checker converts Java/JS values from strings).
public enum BFCLLanguage: String, Sendable, CaseIterable {
    case python, java, javascript

    /// `java` for `simple_java`, `javascript` for `simple_javascript`, `python` otherwise (as `ast_file_runner`).
    public init(category: String) {
        if category.contains("javascript") { self = .javascript }
        else if category.contains("java") { self = .java }
        else { self = .python }
    }
}

/// A checker verdict: `valid`, the official `error_type` (`""` when valid) and human-readable errors.
public struct BFCLVerdict: Sendable {
    public var valid: Bool
    public var errorType: String
    public var errors: [String]

    public init(valid: Bool, errorType: String = "", errors: [String] = []) {
        self.valid = valid; self.errorType = errorType; self.errors = errors
    }
    static let ok = BFCLVerdict(valid: true)
    static func fail(_ type: String, _ error: String) -> BFCLVerdict { BFCLVerdict(valid: false, errorType: type, errors: [error]) }
}

/// A port of BFCL's `ast_checker` (bfcl_eval/eval_checker/ast_eval/ast_checker.py) with its exact semantics,
/// quirks included (e.g. a `""` optional marker inside a list answer also accepts `[]`; a bare string
/// where a list of accepted values was expected is iterated character by character).
///
/// Values are `PyValue`s with Python `==`; function descriptions are the BFCL JSON schemas as `PyValue`s.
public struct BFCLChecker: Sendable {
    /// Whether the model's function names had `.` replaced by `_` (FC models with `underscore_to_dot`).
    public var underscoreToDot: Bool

    public init(underscoreToDot: Bool = false) { self.underscoreToDot = underscoreToDot }

    /// `ast_checker(func_description, model_output, possible_answer, language, test_category, model_name)`.
    /// Throws where the Python original raises (malformed schemas or answers).
    public func check(functions: [PyValue], output: [PyValue], possibleAnswer: [PyValue],
                      language: BFCLLanguage, category: String) throws(PyException) -> BFCLVerdict {
        if category.contains("parallel") {
            return try parallelNoOrder(functions, output, possibleAnswer, language)
        } else if category.contains("multiple") {
            return try multiple(functions, output, possibleAnswer, language)
        }
        guard output.count == 1 else {
            return .fail("simple_function_checker:wrong_count", "Wrong number of functions.")
        }
        guard let first = functions.first, let answer = possibleAnswer.first else {
            throw .valueError("list index out of range")
        }
        return try simple(first, output[0], answer, language)
    }

    // MARK: dispatch

    func parallelNoOrder(_ functions: [PyValue], _ output: [PyValue], _ answers: [PyValue],
                         _ language: BFCLLanguage) throws(PyException) -> BFCLVerdict {
        guard output.count == answers.count else {
            return .fail("parallel_function_checker_no_order:wrong_count", "Wrong number of functions.")
        }
        var matched: [Int] = []
        var result = BFCLVerdict.ok  // Python keeps `result` from the previous iteration; so do we.
        for (i, answer) in answers.enumerated() {
            let expectedName = try firstKey(answer)
            let description = try findDescription(functions, expectedName)
            var allErrors: [String] = []
            for index in output.indices where !matched.contains(index) {
                result = try simple(description, output[index], answer, language)
                if result.valid { matched.append(index); break }
                allErrors.append("Model Result Index \(index): \(result.errorType): \(result.errors.joined(separator: " "))")
            }
            if !result.valid {
                let considered = output.indices.filter { !matched.contains($0) }
                allErrors.insert("Could not find a matching function among index \(considered) of model output for index \(i) of possible answers.", at: 0)
                return BFCLVerdict(valid: false, errorType: "parallel_function_checker_no_order:cannot_find_match", errors: allErrors)
            }
        }
        return .ok
    }

    func multiple(_ functions: [PyValue], _ output: [PyValue], _ answers: [PyValue],
                  _ language: BFCLLanguage) throws(PyException) -> BFCLVerdict {
        guard output.count == answers.count else {
            return .fail("multiple_function_checker:wrong_count", "Wrong number of functions.")
        }
        guard let answer = answers.first else { throw .valueError("list index out of range") }
        let description = try findDescription(functions, try firstKey(answer))
        return try simple(description, output[0], answer, language)
    }

    private func firstKey(_ answer: PyValue) throws(PyException) -> PyValue {
        guard case .dict(let d) = answer, let k = d.keys.first else {
            throw .valueError("list index out of range")
        }
        return k
    }

    /// `find_description`: the schema whose name equals `name` (Python would crash on a miss: so do we).
    private func findDescription(_ functions: [PyValue], _ name: PyValue) throws(PyException) -> PyValue {
        for f in functions {
            if let n = f.dictValue?["name"], n.pyEquals(name) { return f }
        }
        throw .typeError("'NoneType' object is not subscriptable")
    }

    func convertFuncName(_ name: String) -> String {
        underscoreToDot && name.contains(".") ? name.replacingAll(".", with: "_") : name
    }

    // MARK: simple_function_checker

    func simple(_ description: PyValue, _ modelOutput: PyValue, _ possibleAnswerCall: PyValue,
                _ language: BFCLLanguage) throws(PyException) -> BFCLVerdict {
        guard case .dict(let call) = possibleAnswerCall, let answerParams = call.values.first else {
            throw .valueError("list index out of range")
        }
        let parameters = try description.pySubscript(.str("parameters"))
        let paramDetails = try parameters.pySubscript(.str("properties"))
        let required = try parameters.pySubscript(.str("required"))
        guard case .str(let rawName) = try description.pySubscript(.str("name")) else {
            throw .typeError("function name is not a string")
        }
        let funcName = convertFuncName(rawName)

        guard try PyValue.str(funcName).pyIn(modelOutput) else {
            return .fail("simple_function_checker:wrong_func_name", "Function name \(pyStringRepr(funcName)) not found in model output.")
        }
        let modelParamsValue = try modelOutput.pySubscript(.str(funcName))
        for param in try required.pyIter() {
            guard try param.pyIn(modelParamsValue) else {
                return .fail("simple_function_checker:missing_required", "Missing required parameter: \(param.pyRepr).")
            }
        }
        guard case .dict(let modelParams) = modelParamsValue else {
            throw .attributeError("'\(modelParamsValue.pyType.rawValue)' object has no attribute 'items'")
        }

        for (param, rawValue) in modelParams.items {
            guard try param.pyIn(paramDetails), try param.pyIn(answerParams) else {
                return .fail("simple_function_checker:unexpected_param", "Unexpected parameter: \(param.pyRepr).")
            }
            let details = try paramDetails.pySubscript(param)
            guard case .str(let typeDescription) = try details.pySubscript(.str("type")) else {
                throw .typeError("parameter type is not a string")
            }
            let accepted = try answerParams.pySubscript(param)
            var value = rawValue
            var nestedType: PyType? = nil
            let expectedType: PyType

            switch language {
            case .java, .javascript:
                let table = language == .java ? BFCLTypeTables.java : BFCLTypeTables.javascript
                guard let t = table[typeDescription] else { throw .keyError(pyStringRepr(typeDescription)) }
                expectedType = t
                guard case .str(let text) = value else {
                    let tag = language == .java ? "java" : "js"
                    return .fail("type_error:\(tag)", "Incorrect type for parameter \(param.pyRepr). Expected type String, got \(value.pyType.rawValue). Parameter value: \(value.pyRepr).")
                }
                if BFCLTypeTables.nestedConversionTypes.contains(typeDescription) {
                    guard case .str(let nested) = try details.pySubscript(.str("items")).pySubscript(.str("type")) else {
                        throw .typeError("items type is not a string")
                    }
                    guard let nt = table[nested] else { throw .keyError(pyStringRepr(nested)) }
                    nestedType = nt
                    value = language == .java
                        ? try JavaTypeConverter.convert(text, typeDescription, nested: nested)
                        : try JSTypeConverter.convert(text, typeDescription, nested: nested)
                } else {
                    value = language == .java
                        ? try JavaTypeConverter.convert(text, typeDescription)
                        : try JSTypeConverter.convert(text, typeDescription)
                }
            case .python:
                guard let t = BFCLTypeTables.python[typeDescription] else { throw .keyError(pyStringRepr(typeDescription)) }
                expectedType = t
                if BFCLTypeTables.pythonNestedCheck.contains(typeDescription) {
                    guard case .str(let nested) = try details.pySubscript(.str("items")).pySubscript(.str("type")) else {
                        throw .typeError("items type is not a string")
                    }
                    guard let nt = BFCLTypeTables.python[nested] else { throw .keyError(pyStringRepr(nested)) }
                    nestedType = nt
                }
            }

            // A tuple answer becomes a list after a JSON round trip, so tuples are compared as lists.
            if typeDescription == "tuple", case .tuple(let items) = value { value = .list(items) }
            // Python's implicit int -> float.
            if language == .python, typeDescription == "float", case .int(let i) = value { value = .float(Double(i)) }

            let typeCheck = try Self.typeChecker(param, value, accepted, typeDescription, expectedType, nestedType)
            guard typeCheck.verdict.valid else { return typeCheck.verdict }

            if !typeCheck.isVariable {
                if expectedType == .dict {
                    let r = try Self.dictChecker(param, value, accepted)
                    if !r.valid { return r }
                    continue
                } else if expectedType == .list, nestedType == .dict {
                    let r = try Self.listDictChecker(param, value, accepted)
                    if !r.valid { return r }
                    continue
                } else if expectedType == .str {
                    let r = try Self.stringChecker(param, value, accepted)
                    if !r.valid { return r }
                    continue
                } else if expectedType == .list {
                    let r = try Self.listChecker(param, value, accepted)
                    if !r.valid { return r }
                    continue
                }
            }
            guard try value.pyIn(accepted) else {
                return .fail("value_error:others", "Invalid value for parameter \(param.pyRepr): \(value.pyRepr). Expected one of \(accepted.pyRepr).")
            }
        }

        for param in try answerParams.pyIter() {
            let accepted = try answerParams.pySubscript(param)
            if try !param.pyIn(modelParamsValue), try !PyValue.str("").pyIn(accepted) {
                return .fail("simple_function_checker:missing_optional", "Optional parameter \(param.pyRepr) not provided and not marked as optional.")
            }
        }
        return .ok
    }
}

/// The type tables of `bfcl_eval/constants/type_mappings.py` and `ast_checker.py`.
enum BFCLTypeTables {
    static let python: [String: PyType] = [
        "string": .str, "integer": .int, "float": .float, "boolean": .bool,
        "array": .list, "tuple": .list, "dict": .dict, "any": .str,
    ]
    static let pythonNestedCheck: Set<String> = ["array", "tuple"]
    static let nestedConversionTypes: Set<String> = ["Array", "ArrayList", "array"]
    static let java: [String: PyType] = [
        "byte": .int, "short": .int, "integer": .int, "float": .float, "double": .float, "long": .int,
        "boolean": .bool, "char": .str, "Array": .list, "ArrayList": .list, "Set": .set, "HashMap": .dict,
        "Hashtable": .dict, "Queue": .list, "Stack": .list, "String": .str, "any": .str,
    ]
    static let javascript: [String: PyType] = [
        "String": .str, "integer": .int, "float": .float, "Bigint": .int, "Boolean": .bool,
        "dict": .dict, "array": .list, "any": .str,
    ]
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        out.reserveCapacity(utf8.count)
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }
}
