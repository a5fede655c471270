"""ONNX model wrappers: the SCRFD detector, ArcFace-style embedders and provider selection."""
