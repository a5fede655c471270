"""FaceTrace: find missing people by face."""

__version__ = "0.1.0"
