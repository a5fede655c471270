"""Adapters: the only modules that talk to MySQL, AWS and the model runtimes."""
