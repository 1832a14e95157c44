import Testing

// Tests for PyJSON live here.
