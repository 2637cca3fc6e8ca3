"""A loopback RTSP test server (GStreamer RTSP server) for poselive's RTSP tests.

Runs under Debian's /usr/bin/python3, which has PyGObject (``gi``); the project's own
Python does not need it. It serves a moving-ball test pattern as live H.264 at
rtsp://127.0.0.1:<port>/test and prints ``READY <port>`` on stdout once the server is
listening, so a test fixture can wait for that line. (A test pattern rather than a file:
decoding files in GStreamer would need gstreamer1.0-libav as well.)

Usage: /usr/bin/python3 tests/io/rtsp_server.py [--port 0] [--fps 15] [--width 160] [--height 120]
"""

from __future__ import annotations

import argparse
import signal
import socket
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def free_port() -> int:
    """A TCP port that was free a moment ago on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def launch_line(args: argparse.Namespace) -> str:
    """The gst-launch pipeline the server builds for each client."""
    src = "videotestsrc is-live=true pattern=ball"
    caps = f"video/x-raw,width={args.width},height={args.height},framerate={args.fps}/1"
    return (
        f"( {src} ! videoscale ! videoconvert ! {caps} ! "
        # A keyframe every second lets a new client start decoding quickly.
        f"x264enc tune=zerolatency speed-preset=ultrafast key-int-max={args.fps} ! "
        "rtph264pay name=pay0 pt=96 config-interval=1 )"
    )


def main() -> int:
    """Start the server and run until SIGTERM/SIGINT."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--fps", type=int, default=15)
    ap.add_argument("--width", type=int, default=160)
    ap.add_argument("--height", type=int, default=120)
    args = ap.parse_args()

    Gst.init(None)
    port = args.port or free_port()
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch_line(args))
    # One shared pipeline for all clients keeps CPU use low on a shared test machine.
    factory.set_shared(True)
    server.get_mount_points().add_factory("/test", factory)
    if server.attach(None) == 0:
        print(f"FAILED could not listen on port {port}", flush=True)
        return 1

    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print(f"READY {port}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
