/// The reference `rlla` reward's environment flags as explicit options.
///
/// The Python code reads each flag with `os.getenv(NAME, 0)` at call time and treats it as on only
/// when the value is the string `"1"`; `init(environment:)` does the same.
public struct RewardOptions: Sendable, Codable, Equatable {
    /// `SCHEDULEREWARD`: format range [−2, 2] → [−1, 1] and correctness [−2, 2] → [−3, 3] over 150 steps.
    public var scheduleReward = false
    /// `COARSEREWARD`: correctness is max on an exact call-list match, else min.
    public var coarseReward = false
    /// `REFINEDREWARD`: name/key list matching is all-or-nothing instead of Jaccard-style.
    public var refinedReward = false
    /// `INTERMEDIATEREWARD`: each gold call scores 1 only if some predicted call equals it entirely.
    public var intermediateReward = false
    /// `CORRECTMAX1`: correctness range [−1, 1] instead of [−3, 3].
    public var correctMax1 = false
    /// `MAX1STEP30MAX3`: correctness range divided by 3 before step 30; format halved from step 30.
    public var max1Step30Max3 = false
    /// `WITHLENGTH`: compute the length component (think word count / 512, rounded to 2 places).
    public var withLength = false
    /// `SCHEDULELENGTH`: the length target grows from 384 words by 256/105 per step.
    public var scheduleLength = false
    /// `EXPERIMENT_NAME` containing `llama` selects the Llama-3 chat markers for the scored text;
    /// otherwise ChatML (`<|im_start|>assistant` … `<|im_end|>`).
    public var llamaTemplate = false

    /// Environment variable name of each boolean flag, in declaration order.
    public static let flagNames = ["SCHEDULEREWARD", "COARSEREWARD", "REFINEDREWARD", "INTERMEDIATEREWARD",
                                   "CORRECTMAX1", "MAX1STEP30MAX3", "WITHLENGTH", "SCHEDULELENGTH"]

    /// All flags off (the reference's default environment).
    public init() {}

    /// Reads the flags as the reference does: a flag is on iff its variable is exactly `"1"`.
    public init(environment: [String: String]) {
        var flags: [String: Bool] = [:]
        for name in Self.flagNames { flags[name] = environment[name] == "1" }
        self.init(flags: flags)
        llamaTemplate = environment["EXPERIMENT_NAME"]?.contains("llama") ?? false
    }

    /// Flags by environment name (missing names are off); `LLAMA_TEMPLATE` sets `llamaTemplate`.
    public init(flags: [String: Bool]) {
        scheduleReward = flags["SCHEDULEREWARD"] ?? false
        coarseReward = flags["COARSEREWARD"] ?? false
        refinedReward = flags["REFINEDREWARD"] ?? false
        intermediateReward = flags["INTERMEDIATEREWARD"] ?? false
        correctMax1 = flags["CORRECTMAX1"] ?? false
        max1Step30Max3 = flags["MAX1STEP30MAX3"] ?? false
        withLength = flags["WITHLENGTH"] ?? false
        scheduleLength = flags["SCHEDULELENGTH"] ?? false
        llamaTemplate = flags["LLAMA_TEMPLATE"] ?? false
    }
}
