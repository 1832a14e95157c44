import Testing

// Tests for Rewards live here.
