"""gonogo: a terminal control panel for production go/no-go and canary rollouts."""

__version__ = "0.1.0"
