"""A second, independent Matroska reader: the frames of a file (or a chain of
KVS fragments) with the times each should carry, for checking `kvsp frames`.

Written from the specifications, not from kvsparser's C code: EBML (RFC 8794:
VINTs, element IDs, unknown sizes), Matroska (RFC 9559: Segment, Info, Tracks,
Tags, Cluster, SimpleBlock, BlockGroup, lacing) and the Kinesis Video Streams
fragment metadata tags (AWS_KINESISVIDEO_*, decimal seconds).  It reads the
whole file into memory and walks it recursively; it keeps nothing but what a
frame's record needs.

Every time is kept exact (int or fractions.Fraction, in milliseconds): the
test decides how close a double must come.

A frame's record (one per frame, laces split, in file order):
  track, fragment_index (0-based count of Segments), fragment_number,
  timecode (Cluster Timestamp + the block's relative timestamp, in ticks),
  cluster_timecode (that Cluster Timestamp), scale (the TimestampScale),
  pts_ms (timecode * TimestampScale / 1e6), producer_timestamp_ms and
  server_timestamp_ms (the fragment's tag + the block's offset in its
  Cluster, relative timestamp * TimestampScale / 1e6), keyframe, invisible,
  discardable, size, lace_index, lace_frames, duration (BlockDuration),
  block_offset (file offset of the SimpleBlock or Block element), data.
"""
import collections
import fractions
import math
import re

# Element IDs (marker bits kept), RFC 8794 section 11.2 and RFC 9559 section 5.1.
EBML_HEADER = 0x1A45DFA3
SEGMENT = 0x18538067
INFO, TIMESTAMP_SCALE = 0x1549A966, 0x2AD7B1
TRACKS, TRACK_ENTRY, TRACK_NUMBER = 0x1654AE6B, 0xAE, 0xD7
TAGS, TAG, SIMPLE_TAG, TAG_NAME, TAG_STRING = 0x1254C367, 0x7373, 0x67C8, 0x45A3, 0x4487
CLUSTER, CLUSTER_TIMESTAMP = 0x1F43B675, 0xE7
SIMPLE_BLOCK, BLOCK_GROUP, BLOCK = 0xA3, 0xA0, 0xA1
BLOCK_DURATION, REFERENCE_BLOCK = 0x9B, 0xFB
VOID, CRC32 = 0xEC, 0xBF

# The masters this reader descends into; everything else is skipped by size.
MASTERS = {SEGMENT, INFO, TRACKS, TRACK_ENTRY, TAGS, TAG, SIMPLE_TAG, CLUSTER, BLOCK_GROUP}

# An element of unknown size ends at the first element that cannot be its
# child (RFC 8794 section 6.2).  Only Segment and Cluster may have an unknown
# size in Matroska; their children per RFC 9559, plus the global Void and CRC-32.
CHILDREN = {
    None: {EBML_HEADER, SEGMENT},
    SEGMENT: {0x114D9B74, INFO, TRACKS, CLUSTER, 0x1C53BB6B, 0x1941A469, 0x1043A770, TAGS, VOID, CRC32},
    CLUSTER: {CLUSTER_TIMESTAMP, 0x5854, 0xA7, 0xAB, SIMPLE_BLOCK, BLOCK_GROUP, 0xAF, VOID, CRC32},
}

KVS = 'AWS_KINESISVIDEO_'
SERVER_TAGS = {KVS + 'SERVER_TIMESTAMP', KVS + 'SERVER_SIDE_TIMESTAMP'}
PRODUCER_TAGS = {KVS + 'PRODUCER_TIMESTAMP', KVS + 'PRODUCER_SIDE_TIMESTAMP'}
FRAGMENT_NUMBER_TAG = KVS + 'FRAGMENT_NUMBER'
DEFAULT_SCALE = 1000000  # RFC 9559: TimestampScale default, ns per tick


class Truncated(Exception):
    """The data ends inside an element."""


def vint(data, pos):
    """(value, length, all value bits set) of the VINT at pos (RFC 8794 section 4)."""
    if pos >= len(data):
        raise Truncated(pos)
    first = data[pos]
    if first == 0:
        raise ValueError('VINT wider than 8 bytes at %d' % pos)
    length = 9 - first.bit_length()
    if pos + length > len(data):
        raise Truncated(pos)
    raw = int.from_bytes(data[pos:pos + length], 'big')
    value = raw & ((1 << (7 * length)) - 1)
    return value, length, value == (1 << (7 * length)) - 1


def element_id(data, pos):
    """(ID with its marker bits, length)."""
    _, length, _ = vint(data, pos)
    return int.from_bytes(data[pos:pos + length], 'big'), length


def uint(body):
    return int.from_bytes(body, 'big')


def seconds_to_ms(text):
    """Decimal seconds ('1511852109.126') as whole milliseconds, or None when
    the text is not a plain decimal or not a whole number of milliseconds."""
    m = re.fullmatch(r'(\d+)(?:\.(\d*))?', text)
    if not m:
        return None
    ms = fractions.Fraction(int(m.group(1))) * 1000
    if m.group(2):
        ms += fractions.Fraction(int(m.group(2)), 10 ** len(m.group(2))) * 1000
    return int(ms) if ms.denominator == 1 else None


def tag_text(body):
    return body.decode('utf-8', 'replace').rstrip('\0')


def lace_sizes(payload, pos, lacing):
    """Frame sizes of a laced block from pos (the lace count byte) and where
    the frames start; RFC 9559 section 10.3."""
    if pos >= len(payload):
        raise ValueError('laced block without a frame count')
    count = payload[pos] + 1
    pos += 1
    sizes = []
    if lacing == 'xiph':
        for _ in range(count - 1):
            size = 0
            while True:
                if pos >= len(payload):
                    raise ValueError('Xiph lace sizes run past the block')
                size += payload[pos]
                pos += 1
                if payload[pos - 1] != 255:
                    break
            sizes.append(size)
    elif lacing == 'ebml':
        first, n, _ = vint(payload, pos)
        pos += n
        sizes.append(first)
        for _ in range(count - 2):
            raw, n, _ = vint(payload, pos)
            pos += n
            sizes.append(sizes[-1] + raw - ((1 << (7 * n - 1)) - 1))
    rest = len(payload) - pos
    if lacing == 'fixed':
        if rest % count:
            raise ValueError('fixed lace does not divide evenly')
        return [rest // count] * count, pos
    if count > 1 and not sizes:
        raise ValueError('no lace sizes')
    if any(s < 0 for s in sizes) or sum(sizes) > rest:
        raise ValueError('lace sizes exceed the block')
    return sizes + [rest - sum(sizes)], pos


def parse_block(payload):
    """Track number, relative timestamp, flags byte, lacing and the frames'
    bytes of a Block or SimpleBlock body (RFC 9559 sections 10.1, 10.2)."""
    track, n, _ = vint(payload, 0)
    if n + 3 > len(payload):
        raise ValueError('block header cut short')
    rel = int.from_bytes(payload[n:n + 2], 'big', signed=True)
    flags = payload[n + 2]
    lacing = {0: 'none', 1: 'xiph', 2: 'fixed', 3: 'ebml'}[(flags >> 1) & 3]
    pos = n + 3
    if lacing == 'none':
        sizes = [len(payload) - pos]
    else:
        sizes, pos = lace_sizes(payload, pos, lacing)
    frames = []
    for size in sizes:
        frames.append(payload[pos:pos + size])
        pos += size
    return track, rel, flags, lacing, frames


class Reader:
    def __init__(self, data):
        self.data = data
        self.frames = []
        self.tracks = []          # track numbers in TrackEntry order, first Segment's Tracks
        self.truncated = False
        self.segments = -1
        self.fragment = None      # the facts of the Segment being read
        self.track_order = []
        self.open = []            # BlockGroups and SimpleTags being read, innermost last
        self.seen = collections.Counter()  # what the data exercised (see read())

    # ------------------------------------------------------------------ walk
    def walk(self, start, end, parent, unknown):
        """Read the children of parent in [start, end); for a parent of unknown
        size stop at the first element that cannot be its child.  Returns the
        offset where the parent's content ends."""
        pos = start
        while pos < end:
            eid, idlen = element_id(self.data, pos)
            if unknown and eid not in CHILDREN[parent]:
                return pos
            size, sizelen, all_ones = vint(self.data, pos + idlen)
            body = pos + idlen + sizelen
            if all_ones and eid in CHILDREN:
                self.seen['unknown-size %s' % ('Segment' if eid == SEGMENT else 'Cluster')] += 1
                child_end = self.master(eid, parent, body, end, True)
            elif eid in MASTERS:
                child_end = body + size
                if child_end > end:   # a known-size master cut short: read what is there
                    self.truncated = True
                    child_end = end
                self.master(eid, parent, body, child_end, False)
            else:
                child_end = body + size
                if child_end > end:
                    raise Truncated(pos)
                self.leaf(eid, pos, self.data[body:child_end], parent)
            pos = child_end
        return pos

    def master(self, eid, parent, body, end, unknown):
        """Reads a master's children and acts on it once they are all read."""
        if eid == SEGMENT:
            self.segments += 1
            self.fragment = {'index': self.segments, 'scale': DEFAULT_SCALE, 'number': None,
                             'server_ms': None, 'producer_ms': None, 'cluster': 0}
            self.track_order = []
        elif eid == CLUSTER and self.fragment:
            self.fragment['cluster'] = 0
        elif eid == BLOCK_GROUP:
            self.open.append({'block': None, 'referenced': False, 'duration': None})
        elif eid == SIMPLE_TAG:
            self.open.append({'name': None, 'value': None, 'top': parent == TAG})
        done = self.walk(body, end, eid, unknown)
        if eid == BLOCK_GROUP:
            group = self.open.pop()
            if group['block']:
                offset, payload = group['block']
                track, rel, flags, lacing, frames = parse_block(payload)
                self.seen['BlockGroup %s' % ('referenced' if group['referenced'] else 'keyframe')] += 1
                self.add_frames(offset, track, rel, lacing, frames, keyframe=not group['referenced'],
                                invisible=bool(flags & 0x08), discardable=False, duration=group['duration'])
        elif eid == SIMPLE_TAG:
            self.take_tag(self.open.pop())
        elif eid == TRACKS and self.segments == 0:
            self.tracks = list(self.track_order)
        return done

    def leaf(self, eid, offset, body, parent):
        f = self.fragment
        if parent == INFO and eid == TIMESTAMP_SCALE and f is not None:
            if uint(body):
                f['scale'] = uint(body)
        elif parent == TRACK_ENTRY and eid == TRACK_NUMBER:
            self.track_order.append(uint(body))
        elif parent == CLUSTER and eid == CLUSTER_TIMESTAMP and f is not None:
            f['cluster'] = uint(body)
        elif parent == CLUSTER and eid == SIMPLE_BLOCK:
            track, rel, flags, lacing, frames = parse_block(body)
            self.add_frames(offset, track, rel, lacing, frames, keyframe=bool(flags & 0x80),
                            invisible=bool(flags & 0x08), discardable=bool(flags & 0x01), duration=None)
        elif parent == BLOCK_GROUP and eid == BLOCK:
            self.open[-1]['block'] = (offset, body)
        elif parent == BLOCK_GROUP and eid == REFERENCE_BLOCK:
            self.open[-1]['referenced'] = True
        elif parent == BLOCK_GROUP and eid == BLOCK_DURATION:
            self.open[-1]['duration'] = uint(body)
        elif parent == SIMPLE_TAG and eid == TAG_NAME:
            self.open[-1]['name'] = tag_text(body)
        elif parent == SIMPLE_TAG and eid == TAG_STRING:
            self.open[-1]['value'] = tag_text(body)

    def take_tag(self, tag):
        """A KVS SimpleTag directly in a Tag sets its fragment's fact; a nested one is a user tag."""
        f, name, value = self.fragment, tag['name'], tag['value']
        if f is None or not tag['top'] or value is None:
            return
        if name.startswith(KVS):
            self.seen[name] += 1
        if name == FRAGMENT_NUMBER_TAG:
            f['number'] = value
        elif name in SERVER_TAGS and seconds_to_ms(value) is not None:
            f['server_ms'] = seconds_to_ms(value)
        elif name in PRODUCER_TAGS and seconds_to_ms(value) is not None:
            f['producer_ms'] = seconds_to_ms(value)

    # ------------------------------------------------------------------ frames
    def add_frames(self, offset, track, rel, lacing, frames, keyframe, invisible, discardable, duration):
        f = self.fragment or {'index': 0, 'scale': DEFAULT_SCALE, 'number': None, 'server_ms': None,
                              'producer_ms': None, 'cluster': 0}
        scale = f['scale']
        timecode = f['cluster'] + rel
        in_cluster_ms = fractions.Fraction(rel * scale, 1000000)
        # pts in whole ns as a signed 64-bit number, as the library keeps it
        pts_ms = fractions.Fraction(timecode * scale, 1000000) if abs(timecode * scale) < 2 ** 63 else None
        if len(frames) > 1:
            self.seen['%s lacing' % lacing] += 1
            self.seen['laced block%s' % (' with KVS timestamps' if f['producer_ms'] is not None else '')] += 1
        if rel and f['producer_ms'] is not None:
            self.seen['KVS timestamps at an offset in the Cluster, scale %d' % scale] += 1
        for i, data in enumerate(frames):
            self.frames.append({
                'track': track, 'fragment_index': f['index'], 'fragment_number': f['number'],
                'timecode': timecode, 'cluster_timecode': f['cluster'], 'scale': scale, 'pts_ms': pts_ms,
                'producer_timestamp_ms': None if f['producer_ms'] is None else f['producer_ms'] + in_cluster_ms,
                'server_timestamp_ms': None if f['server_ms'] is None else f['server_ms'] + in_cluster_ms,
                'keyframe': keyframe, 'invisible': invisible, 'discardable': discardable,
                'size': len(data), 'lace_index': i, 'lace_frames': len(frames), 'duration': duration,
                'block_offset': offset, 'data': data})


def same_time(got, exact):
    """Whether a time kvsp printed (a double, or None when absent) stands for
    the exact one: equal to it when a double holds it (whole milliseconds,
    halves), else within one unit in the last place of it."""
    if got is None or exact is None:
        return got is None and exact is None
    if fractions.Fraction(float(exact)) == exact:
        return fractions.Fraction(got) == exact
    return abs(fractions.Fraction(got) - exact) <= fractions.Fraction(math.ulp(float(exact)))


def read(data):
    """The reader after reading data: .frames, .tracks (track numbers in the
    first Tracks' order), .truncated (the data is cut short) and .seen, a
    Counter of what the data exercised (unknown sizes, KVS tag names, laces,
    BlockGroups, KVS timestamps on frames after a Cluster's start, per scale)."""
    r = Reader(data)
    try:
        r.walk(0, len(data), None, False)
    except Truncated:
        r.truncated = True
    return r


def read_file(path):
    with open(path, 'rb') as f:
        return read(f.read())
