"""The local stack: moto for AWS, MariaDB for MySQL, and a small Lambda runtime, all from the SAM template."""

import os

# Every function runs in this one process locally, so they share one service name (in AWS each function's
# own, from the template); set before any logger exists, so the domain's child loggers join the same parent.
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "facetrace-local")
