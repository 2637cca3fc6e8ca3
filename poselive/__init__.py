"""poselive: real-time human pose estimation for webcams, video files and RTSP streams."""

__version__ = "0.1.0"

from poselive.errors import PoseliveError  # noqa: E402,F401
