import ArgumentParser
import Console

/// `--quiet`, shared by every command that can run long. Progress and report lines go to stderr
/// (a bar redrawn in place on a terminal, plain lines otherwise); results stay on stdout, so pipes
/// and `--json` are unaffected either way.
struct ProgressOptions: ParsableArguments {
    @Flag(help: "No progress bar or report lines on stderr (results on stdout are unchanged).")
    var quiet = false

    /// The meter for one long loop of this command.
    func meter(_ label: String, total: Int?, unit: ProgressMeter.Unit = .items("items")) -> ProgressMeter {
        ProgressMeter(label, total: total, unit: unit, quiet: quiet)
    }
}
