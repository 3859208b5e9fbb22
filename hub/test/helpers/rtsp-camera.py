#!/usr/bin/python3
"""A real RTSP camera for tests: GStreamer's RTSP server (Debian's gir1.2-gst-rtsp-server-1.0)
serving a live H.264 test pattern on 127.0.0.1.

  rtsp-camera.py --port N [--path /cam] [--codec h264|vp8] [--user U --password P]
                 [--width W --height H --fps F] [--preset ultrafast --bitrate KBPS] [--stamp]
                 [--sub-width W --sub-height H] [--pattern smpte|ball|snow]

Port 0 picks a free port. Prints one line `READY <port>` on stdout once it serves; runs until
SIGTERM/SIGINT. With --user/--password every client must authenticate (HTTP Basic over RTSP).

--stamp replaces the test pattern by the capture time: each frame is a 16x8 grid of black and
white cells (scaled to the picture size) holding the wall-clock time in milliseconds, 48 bits,
most significant first, row by row (see STAMP_BITS). A viewer that decodes a frame and averages
each cell reads back when it was captured: glass-to-glass latency without OCR.

--sub-width/--sub-height also serve a sub stream at /sub (a second encoder at that size, as
cameras offer a low-resolution stream for phones). SIGUSR1 switches both test patterns between
a still picture (smpte) and a moving ball (ball): a scene for motion detection.
"""
import argparse
import signal
import sys
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

SOURCE = "videotestsrc name=src is-live=true pattern={pattern} ! video/x-raw,width={width},height={height},framerate={fps}/1"
PATTERNS = ("smpte", "ball")
# Random noise: incompressible, so the encoder spends its whole bitrate (big recordings fast).
NOISE = "snow"
STAMP_SOURCE = (
    "appsrc name=stamp is-live=true do-timestamp=true format=time "
    "caps=video/x-raw,format=GRAY8,width=16,height=8,framerate={fps}/1 "
    "! videoscale method=nearest-neighbour ! videoconvert ! video/x-raw,format=I420,width={width},height={height}"
)
STAMP_BITS = 48
ENCODERS = {
    # A keyframe every second: segment cuts land within a second of the segment time.
    "h264": "x264enc tune=zerolatency key-int-max={fps} speed-preset={preset} bitrate={bitrate} ! rtph264pay name=pay0 pt=96",
    # A codec the recorder does not copy (it takes H.264/H.265 only).
    "vp8": "vp8enc deadline=1 keyframe-max-dist={fps} ! rtpvp8pay name=pay0 pt=96",
}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--path", default="/cam")
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--fps", type=int, default=10)
    parser.add_argument("--codec", choices=sorted(ENCODERS), default="h264")
    parser.add_argument("--preset", default="medium")
    parser.add_argument("--bitrate", type=int, default=2048)
    parser.add_argument("--stamp", action="store_true")
    parser.add_argument("--sub-width", type=int)
    parser.add_argument("--sub-height", type=int)
    parser.add_argument("--pattern", choices=(*PATTERNS, NOISE), default="smpte")
    parser.add_argument("--user")
    parser.add_argument("--password")
    args = parser.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))

    sources = []
    pattern = {"now": args.pattern}

    def make_factory(width: int, height: int):
        factory = GstRtspServer.RTSPMediaFactory()
        source = STAMP_SOURCE if args.stamp else SOURCE
        pipeline = f"( {source} ! {ENCODERS[args.codec]} )"
        factory.set_launch(pipeline.format(width=width, height=height, fps=args.fps, preset=args.preset, bitrate=args.bitrate, pattern=pattern["now"]))
        if args.stamp:
            factory.connect("media-configure", lambda _f, media: start_stamping(media, args.fps))
        else:
            factory.connect("media-configure", lambda _f, media: sources.append(media.get_element().get_by_name("src")))
        # One pipeline for every client, like a real camera's single encoder.
        factory.set_shared(True)
        return factory

    def switch_pattern() -> bool:
        if pattern["now"] == NOISE:
            return True
        pattern["now"] = PATTERNS[1 - PATTERNS.index(pattern["now"])]
        for src in sources:
            src.set_property("pattern", pattern["now"])
        return True

    factories = {args.path: make_factory(args.width, args.height)}
    if args.sub_width and args.sub_height:
        factories["/sub"] = make_factory(args.sub_width, args.sub_height)

    if args.user:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "user")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, args.password or ""), token)
        server.set_auth(auth)
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_permission_for_role("user", "media.factory.access", True)
        permissions.add_permission_for_role("user", "media.factory.construct", True)
        for factory in factories.values():
            factory.set_permissions(permissions)

    for path, factory in factories.items():
        server.get_mount_points().add_factory(path, factory)
    if server.attach(None) == 0:
        print("rtsp-camera: could not bind", file=sys.stderr, flush=True)
        return 1

    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGUSR1, switch_pattern)
    print(f"READY {server.get_bound_port()}", flush=True)
    loop.run()
    return 0


def stamp_frame(ms: int) -> bytes:
    cells = bytearray(16 * 8)
    for i in range(STAMP_BITS):
        if (ms >> (STAMP_BITS - 1 - i)) & 1:
            cells[i] = 255
    return bytes(cells)


def start_stamping(media, fps: int) -> None:
    """Pushes one stamped frame per frame interval, stamped when it is pushed (its capture)."""
    src = media.get_element().get_by_name("stamp")
    state = {"live": True}

    def push() -> bool:
        if not state["live"]:
            return False
        buf = Gst.Buffer.new_wrapped(stamp_frame(int(time.time() * 1000)))
        return src.emit("push-buffer", buf) == Gst.FlowReturn.OK

    media.connect("unprepared", lambda _m: state.update(live=False))
    GLib.timeout_add(max(1, round(1000 / fps)), push)


if __name__ == "__main__":
    sys.exit(main())
