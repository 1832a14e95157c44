// Placeholder: the ToolEval module is being written (see the issue tracker).
