import Testing

// Tests for Entropy live here.
