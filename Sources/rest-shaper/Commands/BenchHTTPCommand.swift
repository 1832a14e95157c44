import ArgumentParser
import Benchmarks
import HTTPFront
import Pipeline
import PyJSON
import Tokenization

/// `rest-shaper bench http`: requests/s and p50/p99 latency of the HTTP reward front for 1 and 64
/// concurrent clients and batches of 1 and 256 rows, next to the same rows scored in-process in
/// the same run (``HTTPBenchmark``). Prints JSON.
struct BenchHTTPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "http", abstract: "Benchmark the HTTP reward front vs in-process rewards (JSON).")

    @Option(help: "Tokenizer: tokenizer.json or qwen.tiktoken (the engine needs one; the texts do not).") var tokenizer: String
    @Option(help: "Concurrent keep-alive clients, comma-separated.") var clients = "1,64"
    @Option(help: "Rows per request, comma-separated.") var batches = "1,256"
    @Option(help: "Seconds per measurement and side.") var seconds = 3.0
    @Option(help: "Alternating slices (HTTP, in-process, …) each measurement is split into.") var rounds = 4
    @Option(help: "Server workers (--http-workers).") var workers = 2
    @Option(help: "Engine threads per request (0 = all cores).") var threads = 0

    func run() async throws {
        func ints(_ s: String) throws -> [Int] {
            let v = s.split(separator: ",").compactMap { Int($0) }
            guard !v.isEmpty, v.allSatisfy({ $0 >= 1 }) else { throw ValidationError("expected a comma-separated list of positive integers: \(s)") }
            return v
        }
        let engine = ShapingEngine(tokenizer: try Tokenizer.load(path: tokenizer), threads: threads)
        let config = HTTPFrontConfig(port: 0, workers: workers, queueCapacity: 4096)
        let scenarios = try await HTTPBenchmark.run(engine: engine, config: config, clients: try ints(clients),
                                                    batches: try ints(batches), seconds: seconds, rounds: rounds)
        let out: JSONValue = .object(JSONObject([
            ("workers", .int(workers)), ("engine_threads", .int(engine.threads)),
            ("note", .string("clients, server and the in-process baseline share this machine's cores; the two sides alternate in slices; ratio_vs_in_process = HTTP rows/s ÷ in-process rows/s (wall clock); cpu_ratio_vs_in_process = in-process CPU per row ÷ HTTP CPU per row (process CPU time; the HTTP side's includes its clients); same batches, same run")),
            ("scenarios", .array(scenarios.map(\.json))),
        ]))
        print(PyJSON.dumps(out, ensureASCII: false, indent: 2))
    }
}
