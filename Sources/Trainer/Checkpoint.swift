import Foundation

extension Qwen3Model {
    /// Loads a HuggingFace model folder: `config.json` and `model.safetensors`, or the shards
    /// listed in `model.safetensors.index.json`. F32/BF16/F16 tensors become fp32 master weights.
    public static func load(directory: URL, backend: TensorBackend, precision: Precision = .fp32) throws -> Qwen3Model {
        let config = try ModelConfig.load(from: directory.appendingPathComponent("config.json"))
        let model = try Qwen3Model(config: config, backend: backend, precision: precision)
        try model.loadWeights(directory: directory)
        return model
    }

    /// Replaces the weights with those of the safetensors file(s) in `directory`.
    public func loadWeights(directory: URL) throws {
        let fm = FileManager.default
        let single = directory.appendingPathComponent("model.safetensors")
        let index = directory.appendingPathComponent("model.safetensors.index.json")
        var files: [String: Safetensors.File] = [:]
        var location: [String: String] = [:]
        if fm.fileExists(atPath: single.path) {
            let f = try Safetensors.File(url: single)
            files["model.safetensors"] = f
            for k in f.entries.keys { location[k] = "model.safetensors" }
        } else if fm.fileExists(atPath: index.path) {
            struct ShardIndex: Decodable { var weight_map: [String: String] }
            guard let data = fm.contents(atPath: index.path),
                  let map = (try? JSONDecoder().decode(ShardIndex.self, from: data))?.weight_map else {
                throw TrainerError.safetensors("model.safetensors.index.json has no weight_map")
            }
            location = map
            for shard in Set(map.values) { files[shard] = try Safetensors.File(url: directory.appendingPathComponent(shard)) }
        } else {
            throw TrainerError.io("\(directory.path) has neither model.safetensors nor model.safetensors.index.json")
        }
        for (spec, t) in zip(parameters.specs, parameters.tensors) {
            guard let shard = location[spec.name], let file = files[shard], let e = file.entries[spec.name] else {
                throw TrainerError.missingTensor(spec.name)
            }
            guard e.shape == spec.shape else { throw TrainerError.shapeMismatch(name: spec.name, expected: spec.shape, found: e.shape) }
            backend.upload(try file.floats(spec.name), to: t)
        }
        refreshWorkingWeights()
    }

    /// Writes `config.json` + `model.safetensors` (fp32, HF `Qwen3ForCausalLM` names) into `directory`.
    public func save(directory: URL, extraMetadata: [String: String] = [:]) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Self.saveSet(parameters, backend: backend, to: directory.appendingPathComponent("model.safetensors"),
                         metadata: ["format": "pt"].merging(extraMetadata) { $1 })
        do {
            try config.huggingFaceJSON().write(to: directory.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        } catch { throw TrainerError.io("cannot write config.json: \(error.localizedDescription)") }
    }

    /// Writes every tensor of a ``ParameterSet`` (weights, or optimizer moments) as safetensors,
    /// one tensor in host memory at a time.
    public static func saveSet(_ set: ParameterSet, backend: TensorBackend, to url: URL, metadata: [String: String] = [:]) throws {
        try Safetensors.write(names: set.specs.map { ($0.name, $0.shape) }, metadata: metadata, to: url) { backend.download(set.tensors[$0]) }
    }

    /// Reads a ``ParameterSet`` written by ``saveSet(_:backend:to:metadata:)``.
    public static func loadSet(_ set: ParameterSet, backend: TensorBackend, from url: URL) throws {
        let f = try Safetensors.File(url: url)
        for (spec, t) in zip(set.specs, set.tensors) {
            guard let e = f.entries[spec.name] else { throw TrainerError.missingTensor(spec.name) }
            guard e.shape == spec.shape else { throw TrainerError.shapeMismatch(name: spec.name, expected: spec.shape, found: e.shape) }
            backend.upload(try f.floats(spec.name), to: t)
        }
    }
}
