/// Limits a server enforces on requests (reported by `ping`); exceeding one gives a `limit` error.
public struct WireLimits: Sendable, Equatable {
    /// Total bytes of all frames of one request.
    public var maxMessageBytes: Int
    /// Largest frame the server sends (replies are chunked to this).
    public var maxFrameBytes: Int
    /// Largest B·T.
    public var maxTokens: Int
    /// Largest vocabulary dimension V of full logits (and `vocab` with top-k).
    public var maxVocab: Int
    /// Largest B.
    public var maxBatch: Int
    /// Per-request timeout, milliseconds (0 = none).
    public var timeoutMillis: Int
    /// Tokenizer vocabulary size: valid input ids are `0..<vocabSize`.
    public var vocabSize: Int

    public init(maxMessageBytes: Int = 2 << 30, maxFrameBytes: Int = MessageBuilder.defaultMaxFrameBytes,
                maxTokens: Int = 8 << 20, maxVocab: Int = 1 << 20, maxBatch: Int = 1 << 16,
                timeoutMillis: Int = 120_000, vocabSize: Int = 151_669) {
        self.maxMessageBytes = maxMessageBytes; self.maxFrameBytes = maxFrameBytes; self.maxTokens = maxTokens
        self.maxVocab = maxVocab; self.maxBatch = maxBatch; self.timeoutMillis = timeoutMillis; self.vocabSize = vocabSize
    }

    /// As listed in a `ping` reply.
    public var named: [Named<Int>] {
        [Named("max_message_bytes", maxMessageBytes), Named("max_frame_bytes", maxFrameBytes),
         Named("max_tokens", maxTokens), Named("max_vocab", maxVocab), Named("max_batch", maxBatch),
         Named("timeout_ms", timeoutMillis)]
    }
}

/// Request tensor names and the dtypes accepted for each (protocol v1).
public enum RequestTensors {
    public static let accepted: [Named<[WireDType]>] = [
        Named("input_ids", [.int32, .int64]),
        Named("mask", [.float32, .uint8, .bool, .int32, .int64]),
        Named("entropy", [.float32]),
        Named("logits", [.float32, .bfloat16, .float16]),
        Named("topk_logits", [.float32]),
        Named("logsumexp", [.float32]),
        Named("prompt_ids", [.int32, .int64]),
        Named("prompt_lengths", [.int32, .int64]),
    ]

    public static func dtypes(for name: String) -> [WireDType]? { accepted.first { $0.name == name }?.value }

    /// For a `ping` reply.
    public static var named: [Named<[String]>] { accepted.map { Named($0.name, $0.value.map(\.rawValue)) } }
}
