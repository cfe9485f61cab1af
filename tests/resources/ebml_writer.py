"""EBML/Matroska writer for make_fixtures.py: element IDs, VINT encoding and one helper per element.

Each helper returns the element's bytes and records what it wrote in the Tally T (element counts,
frames and keyframes per track, lacing, unknown sizes, track parameters, and one Fragment record
per EBML header); make_fixtures.py starts a fresh T per fixture (new_tally) and turns it into
that fixture's fixtures.json entry.
"""
import collections
import struct
import types
import zlib

# Matroska element IDs (RFC 8794 / RFC 9559), marker bits included.
EBML, EBML_VERSION, EBML_READ_VERSION = 0x1A45DFA3, 0x4286, 0x42F7
EBML_MAX_ID_LENGTH, EBML_MAX_SIZE_LENGTH = 0x42F2, 0x42F3
DOCTYPE, DOCTYPE_VERSION, DOCTYPE_READ_VERSION = 0x4282, 0x4287, 0x4285
VOID, CRC32 = 0xEC, 0xBF
SEGMENT, SEEK_HEAD, SEEK, SEEK_ID, SEEK_POSITION = 0x18538067, 0x114D9B74, 0x4DBB, 0x53AB, 0x53AC
INFO, TIMECODE_SCALE, DURATION, MUXING_APP, WRITING_APP = 0x1549A966, 0x2AD7B1, 0x4489, 0x4D80, 0x5741
TRACKS, TRACK_ENTRY, TRACK_NUMBER, TRACK_UID, TRACK_TYPE = 0x1654AE6B, 0xAE, 0xD7, 0x73C5, 0x83
CODEC_ID, CODEC_PRIVATE, DEFAULT_DURATION, NAME, LANGUAGE = 0x86, 0x63A2, 0x23E383, 0x536E, 0x22B59C
VIDEO, PIXEL_WIDTH, PIXEL_HEIGHT, DISPLAY_WIDTH, DISPLAY_HEIGHT = 0xE0, 0xB0, 0xBA, 0x54B0, 0x54BA
AUDIO, SAMPLING_FREQUENCY, CHANNELS, BIT_DEPTH = 0xE1, 0xB5, 0x9F, 0x6264
CLUSTER, TIMECODE, SIMPLE_BLOCK, BLOCK_GROUP = 0x1F43B675, 0xE7, 0xA3, 0xA0
BLOCK, BLOCK_DURATION, REFERENCE_BLOCK = 0xA1, 0x9B, 0xFB
CUES, CUE_POINT, CUE_TIME, CUE_TRACK_POSITIONS = 0x1C53BB6B, 0xBB, 0xB3, 0xB7
CUE_TRACK, CUE_CLUSTER_POSITION = 0xF7, 0xF1
TAGS, TAG, SIMPLE_TAG, TAG_NAME, TAG_STRING = 0x1254C367, 0x7373, 0x67C8, 0x45A3, 0x4487
TAG_BINARY, TARGETS = 0x4485, 0x63C0

MS = 1000000  # TimecodeScale: every timestamp in these scripts is in milliseconds


# ============================================================================ writer
def Tally():
    """What the writer emitted for the fixture being built; becomes its manifest entry."""
    C = collections.Counter
    return types.SimpleNamespace(count=C(), frames=C(), keyframes=C(), lacing=set(), unknown=C(),
                                 unknown_lengths=set(), cluster_timecodes=[], xiph_ff_bytes=0,
                                 ebml_lace_diffs=[], tracks={}, fragments=[Fragment()])


def Fragment():
    """What one EBML header + Segment got, in file order: Info's TimecodeScale, every SimpleTag
    (name, str or bytes value, depth), Cluster timecodes, blocks (track, relative timecode, frames),
    TrackEntry facts (track number, fact as in Tally.tracks)."""
    return types.SimpleNamespace(scale=None, tags=[], clusters=[], blocks=[], tracks=[])


T = Tally()


def new_tally():
    """Start recording the next fixture: replace T with an empty Tally and return it."""
    global T
    T = Tally()
    return T


UNKNOWN_SIZE = {8: b"\x01" + b"\xff" * 7, 1: b"\xff"}
LACING_BITS = {"none": 0x00, "xiph": 0x02, "fixed": 0x04, "ebml": 0x06}


def vint(value, length=0):
    """Unsigned VINT, shortest form unless length is given; all-ones is reserved (unknown)."""
    if not length:
        length = 1
        while value >= (1 << (7 * length)) - 1:
            length += 1
    assert 1 <= length <= 8 and value < (1 << (7 * length)) - 1
    return ((1 << (7 * length)) | value).to_bytes(length, "big")


def svint(value):
    """Signed VINT of EBML lacing: stored as value + (2^(7n-1) - 1) in an n-byte VINT."""
    n = 1
    while abs(value) > (1 << (7 * n - 1)) - 1:
        n += 1
    return vint(value + (1 << (7 * n - 1)) - 1, n)


def eid(i):  # an element ID as bytes, marker bits included
    return i.to_bytes((i.bit_length() + 7) // 8, "big")
def el(i, payload):  # noqa: E302 (one-liners kept together)
    return eid(i) + vint(len(payload)) + payload
def uint(i, v, width=0):  # noqa: E302
    return el(i, v.to_bytes(width or max(1, (v.bit_length() + 7) // 8), "big"))
def flt(i, v, width=8):  # noqa: E302
    return el(i, struct.pack(">d" if width == 8 else ">f", v))
def text(i, s):  # noqa: E302
    return el(i, s.encode("utf-8"))


def master(i, *children, unknown=None, name=None):
    body = b"".join(children)
    if unknown:
        T.unknown[name] += 1
        T.unknown_lengths.add(unknown)
        return eid(i) + UNKNOWN_SIZE[unknown] + body
    return el(i, body)


def sint(i, v):
    n = 1
    while not -(1 << (8 * n - 1)) <= v < (1 << (8 * n - 1)):
        n += 1
    return el(i, v.to_bytes(n, "big", signed=True))


def ebml_header():
    """Also opens the Fragment record the writers below fill: build it before the Segment's children."""
    T.count["ebml_headers"] += 1
    T.fragments.append(Fragment())
    return master(EBML, uint(EBML_VERSION, 1), uint(EBML_READ_VERSION, 1),
                  uint(EBML_MAX_ID_LENGTH, 4), uint(EBML_MAX_SIZE_LENGTH, 8),
                  text(DOCTYPE, "matroska"), uint(DOCTYPE_VERSION, 4), uint(DOCTYPE_READ_VERSION, 2))


def segment(*children, unknown=None):
    T.count["segments"] += 1
    return master(SEGMENT, *children, unknown=unknown, name="Segment")


def info(duration_ms=None, scale=MS):
    T.fragments[-1].scale = scale
    kids = [uint(TIMECODE_SCALE, scale), text(MUXING_APP, "kvsparser make_fixtures.py"),
            text(WRITING_APP, "kvsparser make_fixtures.py")]
    if duration_ms is not None:
        kids.append(flt(DURATION, float(duration_ms)))
    return master(INFO, *kids)


def track_entry(num, trk, default_duration_ns, float_width=8):
    fact = collections.OrderedDict(codec_id=trk["codec_id"], codec_private=trk.get("private", b"").hex(),
                                   default_duration_ns=default_duration_ns)
    fact.update((k, trk[k]) for k in ("name", "language", "width", "height", "display_width", "display_height",
                                      "rate", "channels", "bit_depth") if k in trk)
    if "rate" in trk:
        fact["rate_float_bytes"] = float_width
    assert T.tracks.setdefault(num, fact)["codec_id"] == fact["codec_id"]  # a chain's first TrackEntry
    T.fragments[-1].tracks.append((num, fact))
    kids = [uint(TRACK_NUMBER, num), uint(TRACK_UID, 0x4B565350000 + num),
            uint(TRACK_TYPE, 1 if "width" in trk else 2), text(CODEC_ID, trk["codec_id"])]
    kids += [text(i, trk[k]) for i, k in ((NAME, "name"), (LANGUAGE, "language")) if k in trk]
    if trk.get("private"):
        kids.append(el(CODEC_PRIVATE, trk["private"]))
    kids.append(uint(DEFAULT_DURATION, default_duration_ns))
    if "width" in trk:
        video = [uint(i, trk[k]) for i, k in ((PIXEL_WIDTH, "width"), (PIXEL_HEIGHT, "height"),
                 (DISPLAY_WIDTH, "display_width"), (DISPLAY_HEIGHT, "display_height")) if k in trk]
        kids.append(master(VIDEO, *video))
    else:
        audio = [flt(SAMPLING_FREQUENCY, float(trk["rate"]), float_width), uint(CHANNELS, trk["channels"])]
        if trk.get("bit_depth"):
            audio.append(uint(BIT_DEPTH, trk["bit_depth"]))
        kids.append(master(AUDIO, *audio))
    return master(TRACK_ENTRY, *kids)


def block_body(track, rel, flags, frames, lacing):
    """Block / SimpleBlock payload (RFC 9559 §10.2-10.4): track, int16 timestamp, flags, laces."""
    T.fragments[-1].blocks.append((track, rel, len(frames)))
    out = bytearray(vint(track) + struct.pack(">h", rel))
    if lacing == "none":
        assert len(frames) == 1
        return bytes(out + bytes([flags]) + frames[0])
    assert len(frames) >= 2
    out += bytes([flags | LACING_BITS[lacing], len(frames) - 1])
    sizes = [len(f) for f in frames]
    if lacing == "xiph":
        for n in sizes[:-1]:
            out += b"\xff" * (n // 255) + bytes([n % 255])
            T.xiph_ff_bytes += n // 255
    elif lacing == "ebml":
        out += vint(sizes[0])
        for prev, cur in zip(sizes[:-2], sizes[1:-1]):
            out += svint(cur - prev)
            T.ebml_lace_diffs.append(cur - prev)
    else:
        assert lacing == "fixed" and len(set(sizes)) == 1
    return bytes(out) + b"".join(frames)


def tally_frames(track, frames, key, lacing):
    T.frames[track] += len(frames)
    T.keyframes[track] += len(frames) if key else 0
    T.lacing.add(lacing)
    T.count["laced_blocks"] += lacing != "none"


def simple_block(track, rel, frames, key, lacing="none"):
    T.count["simple_blocks"] += 1
    tally_frames(track, frames, key, lacing)
    return el(SIMPLE_BLOCK, block_body(track, rel, 0x80 if key else 0, frames, lacing))


def block_group(track, rel, frame, key, duration, reference):
    T.count["block_groups"] += 1
    T.count["blocks"] += 1
    tally_frames(track, [frame], key, "none")
    kids = [el(BLOCK, block_body(track, rel, 0, [frame], "none")), uint(BLOCK_DURATION, duration)]
    if not key:
        kids.append(sint(REFERENCE_BLOCK, reference))
    return master(BLOCK_GROUP, *kids)


def cluster(timecode, blocks, crc=False, unknown=None):
    T.count["clusters"] += 1
    T.cluster_timecodes.append(timecode)
    T.fragments[-1].clusters.append(timecode)
    body = uint(TIMECODE, timecode) + b"".join(blocks)
    if crc:
        T.count["crc32"] += 1
        body = el(CRC32, struct.pack("<I", zlib.crc32(body))) + body
    return master(CLUSTER, body, unknown=unknown, name="Cluster")


def simple_tag(name, value, nested=(), depth=0):
    """TagName, then TagString (str value) or TagBinary (bytes), then the nested (name, value[, nested])."""
    T.count["simple_tags"] += 1
    T.fragments[-1].tags.append((name, value, depth))  # before the nested ones: file order
    kids = [text(TAG_NAME, name), el(TAG_BINARY, value) if isinstance(value, bytes) else text(TAG_STRING, value)]
    return master(SIMPLE_TAG, *kids, *(simple_tag(*spec, depth=depth + 1) for spec in nested))


def tags(specs, user=()):
    """One Tags: a Tag of SimpleTags shaped like KVS output (no Targets); user specs, if any, in a
    second Tag with an empty Targets.  A spec is (name, value) or (name, value, nested specs)."""
    T.count.update(tags=1, tag=1 + bool(user))
    tag_list = [master(TAG, *(simple_tag(*spec) for spec in specs))]
    if user:
        tag_list.append(master(TAG, master(TARGETS), *(simple_tag(*spec) for spec in user)))
    return master(TAGS, *tag_list)
