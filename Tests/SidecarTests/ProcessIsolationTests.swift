import Foundation
import Pipeline
import Sidecar
import TestSupport
import Testing
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// `serve --isolation process`: the shaping core in supervised worker processes (the real
/// `rest-shaper` binary, built beside the tests). A worker that dies while it holds a request
/// costs that request an `internal` reply; the server goes on, counts the crash and starts a new
/// worker. (The test kills workers with SIGKILL, as the OOM killer would: a SIGILL sent with kill()
/// is caught by the Swift runtime's backtracer, which then returns, whereas a real trap faults
/// again and ends the process — the server sees the same death either way.)
@Suite(.serialized) struct ProcessIsolationTests {
    static var binary: String? {
        let url = Bundle.module.bundleURL.deletingLastPathComponent().appendingPathComponent("rest-shaper")
        return FileManager.default.isExecutableFile(atPath: url.path) ? url.path : nil
    }

    func launch() throws -> WorkerLaunch {
        let bin = try #require(Self.binary, "the rest-shaper binary is built with the tests")
        return WorkerLaunch(executable: bin, arguments: ["serve", "--tokenizer", try TestFixtures.qwenTiktokenPath, "--threads", "1"])
    }

    /// Golden-vector rows (real tool calls) repeated `copies` times.
    func batch(_ copies: Int) throws -> [[UInt8]] {
        let tok = try TestFixtures.qwenTokenizer()
        let ids = tok.encode("<think>\nweather\n</think>\n<tool_call>\n{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}\n</tool_call><|im_end|>").ids
        let t = ids.count
        return shapeFrames(id: copies, ids: Array((0..<copies).map { _ in ids }.joined()), mask: [Float](repeating: 1, count: copies * t),
                           batch: copies, gts: Array(repeating: "<tool_call>\n{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}\n</tool_call>", count: copies))
    }

    @Test func aWorkerThatDiesCostsOneRequest() throws {
        var cfg = SidecarConfig()
        cfg.workers = 2
        try withServer(cfg, workers: .processes(try launch(), curriculum: LocalEntropyCurriculum())) { server, ep in
            let c = try SidecarClient(endpoint: ep, timeoutMillis: 60_000)
            let first = try decodeReply(try c.request(try batch(2)))
            #expect(first.header.isOK && first.rewards.count == 2)
            let pids = server.workerProcessIDs
            #expect(pids.count == 2)
            // A long request; once a worker holds it, every worker is killed.
            c.send(try batch(20000))
            var held = false
            let probe = try SidecarClient(endpoint: ep)
            for _ in 0..<15_000 {  // up to ~45 s on a loaded machine: the big request must first reach a worker
                let s = try HardeningTests.counters(probe)
                if s["in_flight"] == 1 && s["queue_depth"] == 0 { held = true; break }
                usleep(2_000)
            }
            try #require(held, "the long request reached a worker")
            for pid in pids { kill(pid, SIGKILL) }
            let r = try c.receive()
            let h = try r[0].withUnsafeBytes { try ReplyHeader.decode($0, frameCount: r.count) }
            #expect(h.id == 20000 && h.error?.code == .internal)
            #expect(h.error?.message.contains("signal 9") == true, "\(h.error?.message ?? "")")
            // The server goes on with new workers.
            let after = try decodeReply(try c.request(try batch(3)))
            #expect(after.header.isOK && after.rewards.count == 3 && after.rewards == [Float](repeating: first.rewards[0], count: 3))
            let s = try HardeningTests.counters(probe)
            #expect(s["worker_crashes"] == 2 && s["worker_restarts"] == 2 && s["errors_internal"] == 1)
            #expect(Set(server.workerProcessIDs).isDisjoint(with: pids))
        }
    }

    /// The entropy curriculum lives in the server: batches shaped by different worker processes
    /// advance one curriculum (the README's worked example, through two workers).
    @Test func workersShareTheEntropyCurriculum() throws {
        var cfg = SidecarConfig()
        cfg.workers = 2
        let curriculum = LocalEntropyCurriculum()
        try withServer(cfg, workers: .processes(try launch(), curriculum: curriculum)) { _, ep in
            let c = try SidecarClient(endpoint: ep, timeoutMillis: 60_000)
            let schedule = #"{"gammas": {"think": {"kind": "entropy", "start": 0.6, "end": 1.0}}, "entropy_schedule": {"full_drop": 0.5, "smoothing": 1.0, "monotone": true}}"#
            let tok = try TestFixtures.qwenTokenizer()
            let ids = tok.encode("<think>\nhm\n</think>\n<response>x</response>").ids
            var progress: [Double] = []
            for (i, h) in [2.0, 1.5, 1.8, 0.9].enumerated() {
                let r = ShapeRequest(inputIDs: ids, mask: [Float](repeating: 1, count: ids.count), batch: 1, length: ids.count,
                                     groundTruths: [""], step: 1, entropy: .entropies([Float](repeating: Float(h), count: ids.count)))
                let frames = ShapeRequestCodec.encode(r, id: i, options: WireOptions(schedule: schedule)).map(\.bytes)
                let reply = try decodeReply(try c.request(frames))
                progress.append(reply.header.metrics?.entropyProgress ?? -1)
            }
            #expect(progress == [0, 0.5, 0.5, 1])
            #expect(curriculum.current.observations == 4)
        }
    }
}
