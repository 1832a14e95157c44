// Placeholder: the Rewards module is being written (see the issue tracker).
