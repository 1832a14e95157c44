// Placeholder: the Regions module is being written (see the issue tracker).
