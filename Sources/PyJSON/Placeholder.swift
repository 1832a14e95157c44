// Placeholder: PyJSON (JSON with Python json.loads/dumps semantics) is being written.
