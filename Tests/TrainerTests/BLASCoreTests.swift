import Testing
import Trainer

@Suite struct BLASCoreTests {
    let xeon = BLASCore.CPU(isa: .avx512, bf16: true, vendor: .intel)
    let epyc = BLASCore.CPU(isa: .avx512, bf16: true, vendor: .amd)

    @Test func genericCoreOnAVX512IsReplaced() {
        #expect(BLASCore.decide(loadedCore: "Prescott", cpu: xeon, request: nil, userCoreType: nil)
                == .select(["Cooperlake", "SkylakeX", "Haswell"]))
        #expect(BLASCore.decide(loadedCore: "Sandybridge", cpu: BLASCore.CPU(isa: .avx2, bf16: false, vendor: .amd),
                                request: nil, userCoreType: nil) == .select(["Zen", "Haswell"]))
        #expect(BLASCore.decide(loadedCore: "Nehalem", cpu: BLASCore.CPU(isa: .avx512, bf16: false, vendor: .intel),
                                request: nil, userCoreType: nil) == .select(["SkylakeX", "Haswell"]))
    }

    @Test func fittingOrUnknownCoresAreKept() {
        #expect(BLASCore.decide(loadedCore: "Cooperlake", cpu: epyc, request: nil, userCoreType: nil) == .keep(reason: ""))
        // An AVX2 core on an AVX-512 CPU is not a fallback (and measured no slower).
        #expect(BLASCore.decide(loadedCore: "Haswell", cpu: xeon, request: nil, userCoreType: nil) == .keep(reason: ""))
        // A CPU without AVX2 has nothing better to offer.
        #expect(BLASCore.decide(loadedCore: "Prescott", cpu: BLASCore.CPU(isa: .sse, bf16: false, vendor: .intel),
                                request: nil, userCoreType: nil) == .keep(reason: ""))
        if case .keep(let reason) = BLASCore.decide(loadedCore: "Neoverse", cpu: xeon, request: nil, userCoreType: nil) {
            #expect(reason.contains("not in the table"))
        } else { Issue.record("an unknown core name must be kept") }
    }

    @Test func userChoicesWin() {
        #expect(BLASCore.decide(loadedCore: "Prescott", cpu: xeon, request: nil, userCoreType: "Prescott")
                == .keep(reason: "OPENBLAS_CORETYPE=Prescott set by the user"))
        #expect(BLASCore.decide(loadedCore: "Prescott", cpu: xeon, request: "auto", userCoreType: "Prescott")
                == .select(["Cooperlake", "SkylakeX", "Haswell"]))
        #expect(BLASCore.decide(loadedCore: "Prescott", cpu: xeon, request: "keep", userCoreType: nil)
                == .keep(reason: "REST_SHAPER_BLAS_CORE=keep"))
        #expect(BLASCore.decide(loadedCore: "Cooperlake", cpu: xeon, request: "Haswell", userCoreType: nil) == .select(["Haswell"]))
        #expect(BLASCore.decide(loadedCore: "Haswell", cpu: xeon, request: "haswell", userCoreType: nil) == .keep(reason: ""))
    }

    @Test func coreTableKnowsTheISAs() {
        #expect(BLASCore.isa(ofCore: "PRESCOTT") == .sse)
        #expect(BLASCore.isa(ofCore: "Zen") == .avx2)
        #expect(BLASCore.isa(ofCore: "SkylakeX") == .avx512)
        #expect(BLASCore.isa(ofCore: "Sandybridge") == .avx)
        #expect(BLASCore.isa(ofCore: "bogus") == nil)
    }

    @Test func selfCheckPassesForTheLoadedCore() {
        let err = BLASCore.selfCheck()
        #expect(err <= 1, "core \(BLASCore.loadedCore): self-check error \(err) × bound")
    }

    @Test func selfCheckCatchesWrongKernels() {
        // A kernel that drops the last column of every product (a missing edge tile).
        let dropsEdge: BLASCore.GEMM = { ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc in
            let saved = (0..<m).map { c[$0 * ldc + n - 1] }
            BLASCore.openBLAS(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            for i in 0..<m { c[i * ldc + n - 1] = saved[i] }
        }
        #expect(BLASCore.selfCheck(gemm: dropsEdge) > 1)
        // A kernel that is right up to a 1e-3 relative error (a broken reduction).
        let sloppy: BLASCore.GEMM = { ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc in
            BLASCore.openBLAS(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            for i in 0..<m { c[i * ldc] *= 1.001 }
        }
        #expect(BLASCore.selfCheck(gemm: sloppy) > 1)
    }
}
