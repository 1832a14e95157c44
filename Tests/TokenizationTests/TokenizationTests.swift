import Testing

// Tests for Tokenization live here.
