// Placeholder: the Entropy module is being written (see the issue tracker).
