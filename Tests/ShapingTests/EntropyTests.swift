import Foundation
import Regions
import Shaping
import Testing

@Suite("entropy-aware shaping")
struct EntropyShapingTests {
    @Test("region stats: per-row and merged batch means over valid tokens")
    func stats() {
        let cats: [UInt8] = [1, 2, 2, 2, 1, 4, 5, 5, 9]
        let mask: [Float] = [1, 1, 1, 1, 1, 1, 1, 1, 0]
        let ent: [Float] = [0.1, 1, 2, 3, 0.3, 0.5, 0.2, .nan, 9]
        let s = cats.withUnsafeBufferPointer { c in mask.withUnsafeBufferPointer { m in ent.withUnsafeBufferPointer { e in
            RegionEntropyStats(categories: c, mask: m, entropies: e) } } }
        #expect(s.mean(.thinkContent) == 2 && s.mean(.toolName) == 0.5 && abs(s.mean(.toolArgs)! - 0.2) < 1e-6)
        #expect(s.mean(.special) == nil && s.counts[5] == 1)
        #expect(abs(s.tagsMean! - 0.2) < 1e-6 && s.means["tags"] != nil && s.means["think"] == 2)
        var batch = s
        batch.merge(s)
        #expect(batch.mean(.thinkContent) == 2 && batch.counts[2] == 6)
    }

    @Test("worked example: γ_think 0.6 → 0.8 → 0.8 (monotone) → 1.0 as think entropy falls")
    func workedExample() throws {
        let cfg = try ShapingConfig.fromJSON(#"{"gammas": {"think": {"kind": "entropy", "start": 0.6, "end": 1.0}}}"#)
        var state = EntropyScheduleState()
        var gammas: [Float] = []
        for (step, h) in [(1, 2.0), (2, 1.5), (3, 1.8), (4, 0.9)] {
            state.observe(h, config: cfg.entropySchedule)
            gammas.append(cfg.gammaTable(step: step, entropyProgress: state.progress)[.thinkContent])
        }
        #expect(gammas == [0.6, 0.8, 0.8, 1.0])
        #expect(state.reference == 2.0 && state.observations == 4)
    }

    @Test("non-monotone and smoothed variants; missing entropy leaves the state alone; reset")
    func variants() throws {
        var s = EntropyScheduleState()
        let c = EntropyCurriculumConfig(fullDrop: 0.5, smoothing: 1, monotone: false)
        s.observe(2.0, config: c); s.observe(1.5, config: c)
        #expect(s.progress == 0.5)
        s.observe(1.8, config: c)
        #expect(abs(s.progress - 0.2) < 1e-12)
        s.observe(nil, config: c); s.observe(.nan, config: c)
        #expect(abs(s.progress - 0.2) < 1e-12 && s.observations == 3)
        var e = EntropyScheduleState()
        let sm = EntropyCurriculumConfig(fullDrop: 0.5, smoothing: 0.5, monotone: true)
        e.observe(2.0, config: sm); e.observe(1.0, config: sm)  // H̃ = 1.5 → r = 0.75 → p = 0.5
        #expect(e.progress == 0.5 && e.smoothed == 1.5)
        e.reset()
        #expect(e == EntropyScheduleState() && e.reference == nil)
    }

    @Test("the state is Codable (saved in the capture) and feeds from region stats")
    func codable() throws {
        var s = EntropyScheduleState()
        let cfg = EntropyCurriculumConfig()
        var stats = RegionEntropyStats()
        stats.sums[2] = 20; stats.counts[2] = 10  // think mean 2
        s.observe(stats, config: cfg)
        stats.sums[2] = 15
        s.observe(stats, config: cfg)
        let data = try JSONEncoder().encode(s)
        let back = try JSONDecoder().decode(EntropyScheduleState.self, from: data)
        #expect(back == s && back.progress == 0.5 && back.shapingStep(9) == ShapingStep(step: 9, entropyProgress: 0.5))
    }

    @Test("entropy schedule drives the aligned weights through the batch progress")
    func drivesWeights() throws {
        let cfg = try ShapingConfig.fromJSON(#"{"gammas": {"think": {"kind": "entropy", "start": 0.5, "end": 1.0}}}"#)
        let p = try AlignedProfile(config: cfg)
        let row = ProfileTests.v01, mask = ProfileTests.mask
        let cats = row.categories().map(\.rawValue)
        let ids = [Int32](repeating: 0, count: row.count)
        let (w0, _) = p.weights(ids: ids, mask: mask, categories: cats, step: ShapingStep(step: 10, entropyProgress: 0))
        let (w1, _) = p.weights(ids: ids, mask: mask, categories: cats, step: ShapingStep(step: 10, entropyProgress: 1))
        #expect(abs(w0[1] / w0[0] - 0.5) < 1e-6 && abs(w1[1] / w1[0] - 1.0) < 1e-6)
    }
}
