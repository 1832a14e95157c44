// Placeholder: the Capture module is being written (see the issue tracker).
