import Foundation

/// Writes one JSON object per line (metrics JSONL).
public final class JSONLWriter: @unchecked Sendable {
    let handle: FileHandle
    public init(url: URL, append: Bool) throws {
        let fm = FileManager.default
        try? fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !append || !fm.fileExists(atPath: url.path) { fm.createFile(atPath: url.path, contents: nil) }
        guard let h = FileHandle(forWritingAtPath: url.path) else { throw TrainerError.io("cannot open \(url.path)") }
        h.seekToEndOfFile()
        handle = h
    }
    public func write<T: Encodable>(_ value: T) throws {
        let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
        var data = try enc.encode(value); data.append(0x0A)
        handle.write(data)
    }
    deinit { try? handle.close() }
}

/// Saved trainer position (`trainer_state.json` in a checkpoint folder).
public struct TrainerState: Codable, Sendable {
    public var step: Int
    public var warmupDone: Int
    public var optimizerStep: Int
    public var rngState: UInt64
    public var cursor: Int
}

extension GRPOTrainer {
    /// Writes a resumable checkpoint: HF-loadable `config.json` + `model.safetensors`, the AdamW
    /// moments (`optimizer_m/v.safetensors`) and `trainer_state.json`.
    public func saveCheckpoint(to dir: URL) throws {
        try model.save(directory: dir)
        try Qwen3Model.saveSet(optimizer.m, backend: model.backend, to: dir.appendingPathComponent("optimizer_m.safetensors"))
        try Qwen3Model.saveSet(optimizer.v, backend: model.backend, to: dir.appendingPathComponent("optimizer_v.safetensors"))
        let st = TrainerState(step: step, warmupDone: warmupDone, optimizerStep: optimizer.step, rngState: rng.state, cursor: cursor)
        let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        do { try enc.encode(st).write(to: dir.appendingPathComponent("trainer_state.json")) } catch {
            throw TrainerError.io("cannot write trainer_state.json: \(error.localizedDescription)")
        }
    }

    /// Restores weights, optimizer moments and position from ``saveCheckpoint(to:)``.
    public func resume(from dir: URL) throws {
        try model.loadWeights(directory: dir)
        try Qwen3Model.loadSet(optimizer.m, backend: model.backend, from: dir.appendingPathComponent("optimizer_m.safetensors"))
        try Qwen3Model.loadSet(optimizer.v, backend: model.backend, from: dir.appendingPathComponent("optimizer_v.safetensors"))
        let data: Data
        do { data = try Data(contentsOf: dir.appendingPathComponent("trainer_state.json")) } catch {
            throw TrainerError.io("no trainer_state.json in \(dir.path)")
        }
        let st = try JSONDecoder().decode(TrainerState.self, from: data)
        step = st.step; warmupDone = st.warmupDone; optimizer.step = st.optimizerStep; rng.state = st.rngState; cursor = st.cursor
    }

    /// Runs the remaining warm-up and GRPO steps, writing metrics JSONL and checkpoints;
    /// `onStep` sees every step's metrics (the CLI draws progress and report lines from it; this
    /// module writes nothing to the terminal). Returns all metrics of this call.
    @discardableResult
    public func run(metricsURL: URL, appendMetrics: Bool = false, checkpointDir: URL? = nil,
                    onStep: (StepMetrics) -> Void = { _ in }) throws -> [StepMetrics] {
        let writer = try JSONLWriter(url: metricsURL, append: appendMetrics)
        var all: [StepMetrics] = []
        while warmupDone < config.warmupSteps {
            let m = try warmupStep()
            try writer.write(m); all.append(m); onStep(m)
        }
        while step < config.steps {
            let m = try grpoStep()
            try writer.write(m); all.append(m); onStep(m)
            if let checkpointDir, config.checkpointEvery > 0, step % config.checkpointEvery == 0 {
                try saveCheckpoint(to: checkpointDir.appendingPathComponent("step-\(step)"))
                try saveCheckpoint(to: checkpointDir.appendingPathComponent("latest"))
            }
        }
        return all
    }
}
