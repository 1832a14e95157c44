import Testing

// Tests for Shaping live here.
