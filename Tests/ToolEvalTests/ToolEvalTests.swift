import Testing

// Tests for ToolEval live here.
