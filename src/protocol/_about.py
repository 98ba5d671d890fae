"""The package's own version, in a module of its own so that the client can
name it in its User-Agent without importing the package's ``__init__``."""

__version__ = "0.1.0"

#: Sent with every request unless config.json's HttpHeaders or the request say otherwise.
USER_AGENT = f"docker-protocol/{__version__}"
