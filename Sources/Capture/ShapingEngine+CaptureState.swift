import Foundation
import Pipeline
import Shaping

/// A capture records the engine's one piece of mutable state, the entropy curriculum, before
/// each request, so a replay restores it and reproduces the weights exactly.
extension ShapingEngine: CaptureStateProvider {
    public func captureState() -> [UInt8] {
        (try? [UInt8](JSONEncoder().encode(entropySchedule))) ?? []
    }

    public func restoreCaptureState(_ bytes: [UInt8]) throws {
        restoreEntropySchedule(try JSONDecoder().decode(EntropyScheduleState.self, from: Data(bytes)))
    }
}
