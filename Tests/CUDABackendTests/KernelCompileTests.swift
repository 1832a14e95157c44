import CUDABackend
import Foundation
import Testing

/// Compiles every CUDA kernel to PTX with NVRTC for sm_80 and sm_90. Needs only libnvrtc (the
/// `nvidia-cuda-nvrtc-cu12` wheel in `.venv`, installed by scripts/setup.sh), no GPU. Where NVRTC
/// is absent the test is skipped — unless `REST_SHAPER_REQUIRE_NVRTC=1` (CI), where that fails.
struct KernelCompileTests {
    static let nvrtc: NVRTC? = try? NVRTC()
    static let required = ProcessInfo.processInfo.environment["REST_SHAPER_REQUIRE_NVRTC"] == "1"

    @Test func nvrtcIsAvailableWhenRequired() throws {
        guard Self.required else { return }
        _ = try NVRTC()  // throws with every path tried
    }

    @Test(.enabled(if: nvrtc != nil, "libnvrtc not found (pip install nvidia-cuda-nvrtc-cu12)"),
          arguments: ["compute_80", "compute_90"])
    func everyKernelCompilesToPTX(arch: String) throws {
        let nvrtc = try #require(Self.nvrtc)
        let ptx = try nvrtc.compileToPTX(source: CUDAKernels.source, arch: arch)
        #expect(ptx.contains(".target sm_\(arch.dropFirst("compute_".count))"))
        for entry in CUDAKernels.entryPoints {
            #expect(ptx.contains(".entry \(entry)("), "kernel \(entry) missing from the PTX for \(arch)")
        }
    }

    @Test(.enabled(if: nvrtc != nil, "libnvrtc not found"))
    func compileErrorsCarryTheLog() throws {
        let nvrtc = try #require(Self.nvrtc)
        #expect(throws: CUDAError.self) {
            _ = try nvrtc.compileToPTX(source: "extern \"C\" __global__ void broken(float *x) { x[0] = undefined_name; }", arch: "compute_80")
        }
    }
}
