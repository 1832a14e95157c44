import Testing

// Tests for Trainer live here.
