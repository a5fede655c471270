"""FaceTrace GPU worker: decode photos, detect, align, assess and embed faces."""
