// Placeholder: the Wire module is being written (see the issue tracker).
