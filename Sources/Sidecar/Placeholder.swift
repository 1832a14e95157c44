// Placeholder: the Sidecar module is being written (see the issue tracker).
