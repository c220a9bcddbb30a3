"""Training: the config, the data stream, the model, the optimiser, the loop, the checkpoint, and
training across processes. TensorFlow is imported here (lazily), never by inference."""
