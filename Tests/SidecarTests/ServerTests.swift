import Capture
import Pipeline
import Sidecar
import Testing
import Wire
import Foundation
import Logging
import Synchronization

/// A deterministic stand-in for the shaping engine: weight = mask·(1 + id mod 3), category = id mod 10,
/// reward = number of characters of the ground truth. Ground truth "sleep" sleeps, "boom" throws.
struct FakeShaper: Shaper {
    struct Boom: Error {}
    var sleepMillis: UInt32 = 300
    func shape(_ r: ShapeRequest) throws -> ShapeResult {
        if r.groundTruths.contains("boom") { throw Boom() }
        if r.groundTruths.contains("sleep") { usleep(sleepMillis * 1000) }
        let w = zip(r.inputIDs, r.mask).map { id, m in m != 0 ? Float(1 + id % 3) : 0 }
        let rewards = r.groundTruths.map { Float($0.count) }
        var ent: [Float]? = nil
        if case .entropies(let e) = r.entropy { ent = e }
        return ShapeResult(weights: w, rewards: rewards, components: rewards.flatMap { [1, $0 - 1, 0, $0] },
                           categories: r.inputIDs.map { UInt8($0 % 10) },
                           rolloutStatus: Array(repeating: .ok, count: r.batch), entropies: ent,
                           metrics: BatchMetrics(tokenCounts: ["think": 1], rewardMean: Double(rewards.reduce(0, +)) / Double(r.batch)))
    }
}

/// Runs a server on a private ipc endpoint for the duration of `body`, then drains it.
/// `keepBind`: serve on `config.bind` instead (e.g. tcp port `*`); the body gets the real endpoint.
/// `workers`: where the shaping core runs (default: threads calling `shaper`).
func withServer<R>(_ config: SidecarConfig = SidecarConfig(), shaper: any Shaper = FakeShaper(), workers: SidecarWorkers? = nil,
                   keepBind: Bool = false, logger: Logger = Logger(label: "rest-shaper.sidecar"),
                   _ body: (SidecarServer, String) throws -> R) throws -> R {
    var cfg = config
    if !keepBind { cfg.bind = "ipc:///tmp/rs-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock" }
    let server = try SidecarServer(config: cfg, workers: workers ?? .threads(shaper), logger: logger)
    let ep = server.endpoint
    let done = DispatchSemaphore(value: 0)
    let t = Thread { try? server.run(); done.signal() }
    t.start()
    defer { server.requestStop(); done.wait() }
    return try body(server, ep)
}

func shapeFrames(id: Int, ids: [Int32], mask: [Float], batch: Int, gts: [String], entropy: [Float]? = nil) -> [[UInt8]] {
    let r = ShapeRequest(inputIDs: ids, mask: mask, batch: batch, length: ids.count / batch, groundTruths: gts, step: 3,
                         entropy: entropy.map { .entropies($0) } ?? .none)
    return ShapeRequestCodec.encode(r, id: id).map(\.bytes)
}

func decodeReply(_ frames: [[UInt8]]) throws -> ShapeReply { try withRaw(frames) { try ShapeReplyCodec.decode($0) } }

@Suite(.serialized) struct ServerTests {
    @Test func pingStatsAndShape() throws {
        try withServer { _, ep in
            let c = try SidecarClient(endpoint: ep)
            let ping = try c.request([Array(#"{"v":1,"op":"ping","id":5}"#.utf8)])
            let ph = try ping[0].withUnsafeBytes { try ReplyHeader.decode($0, frameCount: 1) }
            #expect(ph.isOK && ph.id == 5 && ph.server?.protocols == [1] && ph.server?.vocab == 151_669)

            let reply = try decodeReply(try c.request(shapeFrames(id: 7, ids: [1, 2, 3, 4, 5, 6], mask: [1, 1, 0, 1, 1, 1], batch: 2, gts: ["ab", "abcd"])))
            #expect(reply.header.isOK && reply.header.id == 7)
            #expect(reply.weights == [2, 3, 0, 2, 3, 1])
            #expect(reply.rewards == [2, 4] && reply.components == [1, 1, 0, 2, 1, 3, 0, 4])
            #expect(reply.categories == [1, 2, 3, 4, 5, 6])
            #expect(reply.header.rollouts?.count == 2 && reply.header.metrics?.rewardMean == 3)
            #expect(reply.entropies == nil)

            let stats = try c.request([Array(#"{"v":1,"op":"stats","id":6}"#.utf8)])
            let sh = try stats[0].withUnsafeBytes { try ReplyHeader.decode($0, frameCount: 1) }
            let counters = Dictionary(uniqueKeysWithValues: (sh.stats ?? []).map { ($0.name, $0.value) })
            #expect(counters["requests_shape"] == 1 && counters["replies_ok"] == 2 && counters["rollouts_total"] == 2)
            #expect(sh.prometheus?.contains("rest_shaper_requests_total{op=\"shape\"} 1") == true)
        }
    }

    @Test func malformedRequestsGetTypedErrorsAndServingContinues() throws {
        var cfg = SidecarConfig()
        cfg.limits.maxMessageBytes = 4096
        try withServer(cfg) { _, ep in
            let c = try SidecarClient(endpoint: ep)
            func code(_ frames: [[UInt8]]) throws -> (WireErrorCode?, Int?) {
                let r = try c.request(frames)
                let h = try r[0].withUnsafeBytes { try ReplyHeader.decode($0, frameCount: r.count) }
                return (h.error?.code, h.id)
            }
            let good = shapeFrames(id: 1, ids: [1, 2], mask: [1, 1], batch: 1, gts: ["x"])
            #expect(try code([Array("{not json".utf8)]) == (.badHeader, nil))
            #expect(try code([Array(#"{"v":9,"op":"ping","id":3}"#.utf8)]) == (.version, 3))
            var wrongDType = good
            wrongDType[0] = Array(String(decoding: good[0], as: UTF8.self).replacingOccurrences(of: "\"int32\"", with: "\"float32\"").utf8)
            #expect(try code(wrongDType).0 == .dtype)
            #expect(try code(shapeFrames(id: 2, ids: [1, 999_999], mask: [1, 1], batch: 1, gts: ["x"])) == (.tokenID, 2))
            var badUTF8 = good
            let i = badUTF8[0].firstIndex(of: UInt8(ascii: "x"))!
            badUTF8[0][i] = 0xFF
            #expect(try code(badUTF8).0 == .utf8)
            #expect(try code([good[0], good[1]]).0 == .badHeader) // missing mask frame
            // Over max_message_bytes in frames that are each within it: a `limit` reply.
            let big = ShapeRequest(inputIDs: [Int32](repeating: 1, count: 2000), mask: [Float](repeating: 1, count: 2000), batch: 1,
                                   length: 2000, groundTruths: ["x"], step: 3)
            #expect(try code(ShapeRequestCodec.encode(big, id: 4, maxFrameBytes: 1024).map(\.bytes)) == (.limit, 4))
            // One frame over it (ZMQ_MAXMSGSIZE): ZeroMQ drops the connection before holding the
            // frame; no reply, and the server goes on (the client's socket reconnects by itself).
            let dropped = try SidecarClient(endpoint: ep, timeoutMillis: 1000)
            #expect(throws: WireError(.timeout, "no reply within 1000 ms")) {
                try dropped.request(ShapeRequestCodec.encode(big, id: 6).map(\.bytes))
            }
            #expect(try code(shapeFrames(id: 5, ids: [1, 2], mask: [1, 1], batch: 1, gts: ["boom"])) == (.internal, 5))
            #expect(try code(good) == (nil, 1))
        }
    }

    @Test func concurrentClientsGetTheirOwnReplies() throws {
        var cfg = SidecarConfig()
        cfg.workers = 3
        try withServer(cfg) { _, ep in
            let failures = Mutex<[String]>([])
            DispatchQueue.concurrentPerform(iterations: 6) { client in
                do {
                    let c = try SidecarClient(endpoint: ep)
                    for n in 0..<25 {
                        let b = 1 + (client + n) % 3, t = 1 + (client * 7 + n) % 11
                        let ids = (0..<(b * t)).map { Int32(($0 * 31 + client + n) % 1000) }
                        let mask = (0..<(b * t)).map { Float(($0 + n) % 4 == 0 ? 0 : 1) }
                        let id = client * 1000 + n
                        let r = try decodeReply(try c.request(shapeFrames(id: id, ids: ids, mask: mask, batch: b, gts: Array(repeating: "g\(client)", count: b))))
                        let expected = zip(ids, mask).map { i, m in m != 0 ? Float(1 + i % 3) : 0 }
                        if r.header.id != id || r.weights != expected || r.batch != b || r.length != t {
                            failures.withLock { $0.append("client \(client) request \(n)") }
                        }
                    }
                } catch { failures.withLock { $0.append("\(error)") } }
            }
            #expect(failures.withLock { $0 } == [])
        }
    }

    @Test func timeoutAndBusy() throws {
        var cfg = SidecarConfig()
        cfg.workers = 1
        cfg.queueCapacity = 2
        cfg.limits.timeoutMillis = 400
        try withServer(cfg, shaper: FakeShaper(sleepMillis: 1000)) { _, ep in
            let c = try SidecarClient(endpoint: ep)
            c.send(shapeFrames(id: 1, ids: [1], mask: [1], batch: 1, gts: ["sleep"]))
            c.send(shapeFrames(id: 2, ids: [1], mask: [1], batch: 1, gts: ["sleep"]))
            c.send(shapeFrames(id: 3, ids: [1], mask: [1], batch: 1, gts: ["x"]))
            var codes: [Int: WireErrorCode?] = [:]
            for _ in 0..<3 {
                let r = try c.receive()
                let h = try r[0].withUnsafeBytes { try ReplyHeader.decode($0, frameCount: r.count) }
                codes[h.id!] = h.error?.code
            }
            #expect(codes[3] == .busy)
            #expect(codes[1] == .timeout && codes[2] == .timeout)
            usleep(1_200_000) // let the worker finish the sleeping job (its late result is dropped)
            let ok = try decodeReply(try c.request(shapeFrames(id: 4, ids: [1], mask: [1], batch: 1, gts: ["x"])))
            #expect(ok.header.isOK && ok.header.id == 4)
        }
    }

    @Test func drainFinishesInFlightAndCaptureIsIntact() throws {
        let dir = "/tmp/rs-capture-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        var cfg = SidecarConfig()
        cfg.captureDirectory = dir
        let path: String = try withServer(cfg) { server, ep in
            let c = try SidecarClient(endpoint: ep)
            _ = try c.request(shapeFrames(id: 1, ids: [1, 2], mask: [1, 0], batch: 1, gts: ["a"], entropy: [0.5, 0.25]))
            _ = try c.request([Array("{broken".utf8)])
            c.send(shapeFrames(id: 2, ids: [3], mask: [1], batch: 1, gts: ["sleep"]))
            let probe = try SidecarClient(endpoint: ep)
            var inFlight = 0
            for _ in 0..<400 { // wait until the server holds the slow request, then stop it
                let r = try probe.request([Array(#"{"v":1,"op":"stats","id":1}"#.utf8)])
                let h = try r[0].withUnsafeBytes { try ReplyHeader.decode($0, frameCount: 1) }
                inFlight = h.stats?.first(where: { $0.name == "in_flight" })?.value ?? 0
                if inFlight == 1 { break }
                usleep(5_000)
            }
            // The drain is only tested if the request really was in flight when the stop came.
            try #require(inFlight == 1, "the slow request never showed up in flight")
            server.requestStop()
            let r = try decodeReply(try c.receive())
            #expect(r.header.isOK && r.header.id == 2)
            return server.capturePath!
        }
        let reader = try CaptureReader(path: path)
        var records: [CaptureRecord] = []
        while let r = reader.next() { records.append(r) }
        #expect(reader.tailProblem == nil)
        #expect(records.count == 3 + records.filter { String(decoding: $0.request[0], as: UTF8.self).contains("stats") }.count)
        let first = try decodeReply(records[0].reply)
        #expect(first.weights == [2, 0] && first.header.id == 1)
        #expect(String(decoding: records[1].reply[0], as: UTF8.self).contains("bad_header"))
        try? FileManager.default.removeItem(atPath: dir)
    }

    @Test func endpointPolicy() throws {
        #expect(try EndpointPolicy.isLocal("ipc:///tmp/x.sock"))
        #expect(try EndpointPolicy.isLocal("tcp://127.0.0.1:5555"))
        #expect(try EndpointPolicy.isLocal("tcp://localhost:5555"))
        #expect(try EndpointPolicy.isLocal("tcp://[::1]:5555"))
        #expect(try !EndpointPolicy.isLocal("tcp://0.0.0.0:5555"))
        #expect(try !EndpointPolicy.isLocal("tcp://10.1.2.3:5555"))
        #expect(throws: SidecarError.self) { try EndpointPolicy.check(SidecarConfig(bind: "tcp://0.0.0.0:5555")) }
        try EndpointPolicy.check(SidecarConfig(bind: "tcp://0.0.0.0:5555", insecure: true))
        var curve = SidecarConfig(bind: "tcp://*:5555", curveSecretKey: String(repeating: "a", count: 40))
        #expect(throws: SidecarError.self) { try EndpointPolicy.check(curve) } // encryption without an allow-list
        curve.curveAllow = [String(repeating: "b", count: 40)]
        try EndpointPolicy.check(curve)
    }
}
