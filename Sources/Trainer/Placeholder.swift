// Placeholder: the Trainer module is being written (see the issue tracker).
