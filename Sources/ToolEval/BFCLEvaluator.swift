/// Scores one decoded model output on one BFCL entry the way `bfcl_eval`'s eval runner does:
/// relevance categories by whether a call was decoded, AST categories by format check + `ast_checker`.
public struct BFCLEvaluator: Sendable {
    public var checker: BFCLChecker

    public init(underscoreToDot: Bool = false) { checker = BFCLChecker(underscoreToDot: underscoreToDot) }

    /// `decoded` is the decoder's result (nil when decoding failed, with `decodeError` its message).
    public func evaluate(entry: BFCLEntry, decoded: PyValue?, decodeError: String? = nil) -> BFCLVerdict {
        let category = entry.category
        if BFCLCategory.isRelevance(category) {
            let containsCall = decoded.map { !Self.isEmptyOutput($0) } ?? false
            if category.contains("irrelevance") {
                return containsCall ? .fail("irrelevance_error:decoder_success", "Valid syntax. Successfully decode AST when it should not.") : .ok
            }
            return containsCall ? .ok : .fail("relevance_error:decoder_failed", "Invalid syntax. Failed to decode AST when it should have. \(decodeError ?? "")")
        }
        guard let decoded else {
            return .fail("ast_decoder:decoder_failed", "Invalid syntax. Failed to decode AST. \(decodeError ?? "")")
        }
        guard Self.isFunctionCallingFormat(decoded), case .list(let calls) = decoded else {
            return .fail("ast_decoder:decoder_wrong_output_format", "Did not output in the specified format. Note: the model_result is wrapped in a string to ensure json serializability.")
        }
        do {
            return try checker.check(functions: entry.functions, output: calls, possibleAnswer: entry.groundTruth,
                                     language: BFCLLanguage(category: category), category: category)
        } catch {
            // The Python checker would have crashed; count the item as wrong and say why.
            return .fail("checker_exception:\(error.name)", error.description)
        }
    }

    /// `is_function_calling_format_output`: a list of single-key dicts whose value is a dict (`[]` qualifies).
    public static func isFunctionCallingFormat(_ v: PyValue) -> Bool {
        guard case .list(let items) = v else { return false }
        for item in items {
            guard case .dict(let d) = item, d.count == 1, d.values[0].pyType == .dict else { return false }
        }
        return true
    }

    /// `is_empty_output`: `[]`, `[{}]`, or anything not in function-calling format.
    public static func isEmptyOutput(_ v: PyValue) -> Bool {
        guard isFunctionCallingFormat(v), case .list(let items) = v else { return true }
        if items.isEmpty { return true }
        if items.count == 1, case .dict(let d) = items[0], d.isEmpty { return true }
        return false
    }
}
