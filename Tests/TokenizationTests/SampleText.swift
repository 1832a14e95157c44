/// Texts used by several tests.
enum SampleText {
    static let mixed = """
    <|im_start|>assistant
    <think>
    The user wants the weather in Paris; I'll call get_weather with {"city": "Paris", "unit": "celsius"}.
    Café naïve résumé — 東京 서울 😀👍🏽 12345 3.14159   \t trailing
    </think>
    <tool_call>
    {"name": "get_weather", "arguments": {"city": "Paris", "days": [1, 2, 3], "note": "it's \\"fine\\""}}
    </tool_call><|im_end|>
    """ + String(repeating: "supercalifragilisticexpialidocious", count: 3) + " " + String(repeating: "=", count: 70)
}
