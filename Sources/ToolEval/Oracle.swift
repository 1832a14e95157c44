/// "First possible answer" predictions: for every expected call, each parameter takes the first value
/// the ground truth accepts (a parameter whose first accepted value is the optional marker `""` is
/// left out). Python values are used as they are; Java and JavaScript values are written as the source
/// text a model would produce (`"42L"`, `"new ArrayList<>(Arrays.asList(…))"`, `"[1, 2]"`), since
/// the checker converts those languages from strings. Irrelevance items get `[]`; relevance items a
/// call of their first function. Scoring these reproduces the official checker's outcome on the data
/// itself (e.g. simple_python 399/400: some ground truths are inconsistent with their schemas).
public enum BFCLOracle {
    public static func predictions(dataset: BFCLDataset, categories: [String]) -> [String: Prediction] {
        var out: [String: Prediction] = [:]
        for category in categories {
            let language = BFCLLanguage(category: category)
            for id in dataset.order[category] ?? [] {
                guard let entry = dataset.entries[id] else { continue }
                out[id] = .decoded(answer(entry, language: language))
            }
        }
        return out
    }

    static func answer(_ entry: BFCLEntry, language: BFCLLanguage) -> PyValue {
        if entry.category.contains("irrelevance") { return .list([]) }
        if BFCLCategory.isRelevance(entry.category) {
            let name = entry.functions.first?.dictValue?["name"] ?? .str("call")
            return .list([.dict(PyDict([(name, .dict(PyDict()))]))])
        }
        var calls: [PyValue] = []
        for call in entry.groundTruth {
            guard case .dict(let c) = call, let name = c.keys.first, case .dict(let params)? = c.values.first else { continue }
            let schema = entry.functions.first { $0.dictValue?["name"].map { $0.pyEquals(name) } ?? false }
            let properties = schema?.dictValue?["parameters"]?.dictValue?["properties"]?.dictValue
            var args = PyDict()
            for (param, accepted) in params.items {
                guard case .list(let values) = accepted, let first = values.first, !first.pyEquals(.str("")) else { continue }
                let details = properties?[param]?.dictValue
                let value = firstPossible(first)
                switch language {
                case .python: args[param] = value
                case .java: args[param] = .str(javaSource(value, type: details?["type"]?.stringValue ?? "any", items: details?["items"]?.dictValue?["type"]?.stringValue))
                case .javascript: args[param] = .str(jsSource(value, type: details?["type"]?.stringValue ?? "any"))
                }
            }
            calls.append(.dict(PyDict([(name, .dict(args))])))
        }
        return .list(calls)
    }

    /// A nested dict answer holds accepted-value lists per key: take the first of each, recursively.
    static func firstPossible(_ v: PyValue) -> PyValue {
        switch v {
        case .dict(let d):
            var out = PyDict()
            for (k, accepted) in d.items {
                if case .list(let values) = accepted {
                    guard let first = values.first, !first.pyEquals(.str("")) else { continue }
                    out[k] = firstPossible(first)
                } else {
                    out[k] = accepted
                }
            }
            return .dict(out)
        case .list(let items) where items.contains(where: { $0.pyType == .dict }):
            return .list(items.map(firstPossible))
        default:
            return v
        }
    }

    /// Java source for a converted value, by the schema's Java type.
    static func javaSource(_ v: PyValue, type: String, items: String? = nil) -> String {
        switch (v, type) {
        case (.str(let s), _): return s
        case (.bool(let b), _): return b ? "true" : "false"
        case (.int(let i), "long"): return "\(i)L"
        case (.int(let i), "float"), (.int(let i), "double"): return "\(i)" + (type == "float" ? "f" : ".0")
        case (.float(let f), "float"): return pyFloatRepr(f) + "f"
        case (.int, _), (.bigInt, _), (.float, _): return v.pyRepr
        case (.list(let a), "ArrayList"):
            return "new ArrayList<>(Arrays.asList(" + a.map { javaElement($0, items) }.joined(separator: ", ") + "))"
        case (.list(let a), _):
            let t = ["integer": "int", "String": "String", "boolean": "boolean", "double": "double", "float": "float", "long": "long", "char": "char"][items ?? ""] ?? "Object"
            return "new \(t)[]{" + a.map { javaElement($0, items) }.joined(separator: ", ") + "}"
        case (.dict(let d), _):
            let puts = d.items.map { k, v in
                let value: PyValue = { if case .list(let l) = v, let f = l.first { return f }; return v }()
                return "put(\"\(k.pyStr)\", \(javaElement(value, nil)));"
            }
            return "new HashMap<String, Object>() {{ " + puts.joined(separator: " ") + " }}"
        default: return v.pyRepr
        }
    }

    private static func javaElement(_ v: PyValue, _ type: String?) -> String {
        switch v {
        case .str(let s): return type == "char" ? "'\(s)'" : "\"\(s)\""
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return type == "long" ? "\(i)L" : "\(i)"
        case .float(let f): return pyFloatRepr(f) + (type == "float" ? "f" : "")
        default: return v.pyRepr
        }
    }

    /// JavaScript source for a converted value.
    static func jsSource(_ v: PyValue, type: String) -> String {
        switch v {
        case .str(let s): return s
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return type == "Bigint" ? "\(i)n" : "\(i)"
        case .float(let f): return pyFloatRepr(f)
        case .list(let a): return "[" + a.map(jsLiteral).joined(separator: ", ") + "]"
        case .dict(let d):
            return "{" + d.items.map { k, v in
                let value: PyValue = { if case .list(let l) = v, let f = l.first { return f }; return v }()
                return "\(k.pyStr): \(jsLiteral(value))"
            }.joined(separator: ", ") + "}"
        default: return v.pyRepr
        }
    }

    private static func jsLiteral(_ v: PyValue) -> String {
        switch v {
        case .str(let s): return "\"\(s)\""
        case .bool(let b): return b ? "true" : "false"
        case .none: return "null"
        case .list(let a): return "[" + a.map(jsLiteral).joined(separator: ", ") + "]"
        default: return jsSource(v, type: "any")
        }
    }
}
