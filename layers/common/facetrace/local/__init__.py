"""The local stack: moto for AWS, MariaDB for MySQL, and a small Lambda runtime, all from the SAM template."""
