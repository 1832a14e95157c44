// Placeholder: the Tokenization module is being written (see the issue tracker).
