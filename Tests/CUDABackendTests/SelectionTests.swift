import CUDABackend
import Testing
import Trainer

struct SelectionTests {
    @Test func cpuIsAlwaysAvailable() throws {
        #expect(try BackendSelection.make(.cpu).name == "cpu")
    }

    /// `auto` never fails: CUDA where a device opens, otherwise CPU with the reason logged.
    @Test func autoFallsBackWithAReason() throws {
        var lines: [String] = []
        let b = try BackendSelection.make(.auto) { lines.append($0) }
        if case .success = CUDABackend.probe() {
            #expect(b.name == "cuda")
        } else {
            #expect(b.name == "cpu")
            #expect(lines.contains { $0.contains("falling back to cpu") })
        }
    }

    /// `cuda` without a device is a clear, typed error.
    @Test func cudaWithoutDeviceIsATypedError() throws {
        guard case .failure = CUDABackend.probe() else { return }
        #expect(throws: CUDAError.self) { _ = try BackendSelection.make(.cuda) }
    }
}
