import Testing

// Tests for Pipeline live here.
