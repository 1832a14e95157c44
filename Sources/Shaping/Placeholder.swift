// Placeholder: the Shaping module is being written (see the issue tracker).
