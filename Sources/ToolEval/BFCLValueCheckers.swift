/// The value-level helpers of BFCL's `ast_checker.py`: `type_checker`, `standardize_string`,
/// `string_checker`, `list_checker`, `dict_checker`, `list_dict_checker`, ported line by line.
extension BFCLChecker {
    /// `standardize_string`: drop ` ,./-_*^`, lowercase, `'` -> `"`. Lets `April 1, 2024` match `April 1 2024`.
    public static func standardize(_ s: String) -> String {
        var kept = String.UnicodeScalarView()
        for u in s.unicodeScalars {
            switch u {
            case " ", ",", ".", "/", "-", "_", "*", "^": continue
            default: kept.append(u)
            }
        }
        var out = String.UnicodeScalarView()
        for u in String(kept).lowercased().unicodeScalars { out.append(u == "'" ? "\"" : u) }
        return String(out)
    }

    static func standardized(_ v: PyValue) -> PyValue {
        if case .str(let s) = v { return .str(standardize(s)) }
        return v
    }

    /// `get_possible_answer_type`: the type of the first accepted value that is not the optional marker `""`.
    static func possibleAnswerType(_ accepted: PyValue) throws(PyException) -> PyType? {
        for answer in try accepted.pyIter() where !answer.pyEquals(.str("")) { return answer.pyType }
        return nil
    }

    /// `type_checker`; also returns `is_variable` (the value has the answer's type rather than the schema's).
    static func typeChecker(_ param: PyValue, _ value: PyValue, _ accepted: PyValue, _ description: String,
                            _ expected: PyType, _ nested: PyType?) throws(PyException) -> (verdict: BFCLVerdict, isVariable: Bool) {
        var verdict = BFCLVerdict(valid: true, errorType: "type_error:simple")
        var isVariable = false
        let answerType = try possibleAnswerType(accepted)
        if let answerType, answerType != expected { isVariable = true }

        if value.pyType == expected {
            guard let nested else { return (verdict, isVariable) }
            for item in try accepted.pyIter() {
                var flag = true
                if item.pyType == .list {
                    for element in try value.pyIter() {
                        let r = try typeChecker(param, element, item, "<class '\(nested.rawValue)'>", nested, nil)
                        if !r.verdict.valid { flag = false; break }
                    }
                }
                if flag { return (BFCLVerdict(valid: true), isVariable) }
            }
            verdict.valid = false
            verdict.errors = ["Nested type checking failed for parameter \(param.pyRepr). Expected outer type \(description) with inner type <class '\(nested.rawValue)'>. Parameter value: \(value.pyRepr)."]
            verdict.errorType = "type_error:nested"
        }

        if let answerType, value.pyType == answerType {
            // Note: after a failed nested check this returns the failure, flagged as a variable (as upstream).
            return (verdict, true)
        }
        verdict.valid = false
        verdict.errors.append("Incorrect type for parameter \(param.pyRepr). Expected type \(description), got \(value.pyType.rawValue). Parameter value: \(value.pyRepr).")
        verdict.errorType = "type_error:simple"
        return (verdict, false)
    }

    /// `string_checker`: standardised membership among the string answers.
    static func stringChecker(_ param: PyValue, _ value: PyValue, _ accepted: PyValue) throws(PyException) -> BFCLVerdict {
        guard case .str(let s) = value else { throw .typeError("expected string or bytes-like object") }
        let output = standardize(s)
        let answers = try accepted.pyIter().compactMap { $0.stringValue.map(standardize) }
        guard answers.contains(where: { $0.unicodeScalars.elementsEqual(output.unicodeScalars) }) else {
            return .fail("value_error:string", "Invalid value for parameter \(param.pyRepr): \(value.pyRepr). Expected one of \(accepted.pyRepr). Case insensitive.")
        }
        return .ok
    }

    /// `list_checker`: the list with its string items standardised must equal one standardised answer.
    /// (An optional marker `""` iterates as an empty answer, so `[]` then passes: upstream behaviour.)
    static func listChecker(_ param: PyValue, _ value: PyValue, _ accepted: PyValue) throws(PyException) -> BFCLVerdict {
        let output = PyValue.list(try value.pyIter().map(standardized))
        var answers: [PyValue] = []
        for answer in try accepted.pyIter() {
            answers.append(.list(try answer.pyIter().map(standardized)))
        }
        guard answers.contains(where: { $0.pyEquals(output) }) else {
            return .fail("value_error:list/tuple", "Invalid value for parameter \(param.pyRepr): \(value.pyRepr). Expected one of \(accepted.pyRepr).")
        }
        return .ok
    }

    /// `dict_checker`: every key of the output must be allowed with a standardised-equal value, every
    /// non-optional answer key must be present. Both loops run, so the last failure names the error type.
    static func dictChecker(_ param: PyValue, _ value: PyValue, _ acceptedDicts: PyValue) throws(PyException) -> BFCLVerdict {
        var result = BFCLVerdict(valid: false, errorType: "dict_checker:unclear")
        for answer in try acceptedDicts.pyIter() {
            if answer.pyEquals(.str("")) { continue }
            result = BFCLVerdict(valid: false, errorType: "dict_checker:unclear")
            var flag = true
            guard case .dict(let output) = value else {
                throw .attributeError("'\(value.pyType.rawValue)' object has no attribute 'items'")
            }
            for (key, v) in output.items {
                guard try key.pyIn(answer) else {
                    result.errors.append("Unexpected dict key parameter: '\(key.pyStr)'.")
                    result.errorType = "value_error:dict_key"
                    flag = false
                    break
                }
                let standardValue = standardized(v)
                let standardAnswers = try answer.pySubscript(key).pyIter().map(standardized)
                guard standardAnswers.contains(where: { $0.pyEquals(standardValue) }) else {
                    result.errors.append("Invalid value for parameter \(key.pyRepr): \(v.pyRepr). Expected one of \(PyValue.list(standardAnswers).pyRepr).")
                    result.errorType = "value_error:dict_value"
                    flag = false
                    break
                }
            }
            guard case .dict(let answerDict) = answer else {
                throw .attributeError("'\(answer.pyType.rawValue)' object has no attribute 'items'")
            }
            for (key, acceptedValues) in answerDict.items {
                if try !key.pyIn(value), try !PyValue.str("").pyIn(acceptedValues) {
                    result.errors.append("Missing dict key parameter: '\(key.pyStr)'.")
                    result.errorType = "value_error:dict_key"
                    flag = false
                    break
                }
            }
            if flag { return .ok }
        }
        return result
    }

    /// `list_dict_checker`: a list of dicts checked position by position against each accepted list.
    static func listDictChecker(_ param: PyValue, _ value: PyValue, _ acceptedLists: PyValue) throws(PyException) -> BFCLVerdict {
        var result = BFCLVerdict(valid: false, errorType: "list_dict_checker:unclear")
        let output = try value.pyIter()
        for answerList in try acceptedLists.pyIter() {
            var flag = true
            if output.count != (try answerList.pyLen()) {
                result = .fail("value_error:list_dict_count", "Wrong number of dictionaries in the list.")
                continue
            }
            for (i, element) in output.enumerated() {
                result = try dictChecker(param, element, .list([try answerList.pySubscript(.int(i))]))
                if !result.valid { flag = false; break }
            }
            if flag { return .ok }
        }
        return result
    }
}

extension PyValue {
    /// Python `str(self)` (a string's own text; `repr` for everything else, as for containers).
    var pyStr: String { if case .str(let s) = self { s } else { pyRepr } }
}
