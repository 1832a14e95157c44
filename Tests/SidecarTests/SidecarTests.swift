import Testing

// Tests for Sidecar live here.
