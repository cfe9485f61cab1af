#!/usr/bin/env python3
"""kvsp audio against independent oracles: sox and ffprobe read the files
(rate, channels, sample count = media time covered); the samples equal the
PCM that went into the fixtures (make_audio_fixtures.py computes it) where it
is copied, and ffmpeg's decode (-map 0:a -f s16le) where it is decoded,
resampled (ffmpeg -ar) or mixed (ffmpeg -ac) - all byte for byte; gaps give
silence of their length, a long gap a new file; Connect's speakers are not
swapped and --contact-id keeps one call.

usage: audio_test.py KVSP RESOURCES_DIR [CAPTURES_DIR]
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest

import kvsp_testing

KVSP = RESOURCES = CAPTURES = TMP = None
gen = None  # make_audio_fixtures, for the PCM that went in


def run(cmd):
    return subprocess.run(cmd, capture_output=True, timeout=300)


def fixture(name):
    path = os.path.join(RESOURCES, 'audio', name)
    if not os.path.exists(path):
        raise unittest.SkipTest('%s not generated' % name)
    return path


def capture(name):
    if not CAPTURES:
        raise unittest.SkipTest('shared captures absent')
    return os.path.join(CAPTURES, name)


def read(path):
    with open(path, 'rb') as f:
        return f.read()


def need(tool):
    if not shutil.which(tool):
        raise unittest.SkipTest(tool + ' absent')


def kvsp_audio(src, *args, ok=True):
    out = tempfile.mkdtemp(dir=TMP)
    r = run([KVSP, 'audio', '-o', out, *args, src])
    if ok and r.returncode != 0:
        raise AssertionError('kvsp audio exited %d: %s' % (r.returncode, r.stderr.decode()))
    index = [json.loads(line) for line in read(os.path.join(out, 'index.jsonl')).splitlines()]
    return out, index, r


def wav_data(path):
    """The data chunk of a WAV file, found by walking its chunks (not by assuming 44 bytes)."""
    data = read(path)
    assert data[:4] == b'RIFF' and data[8:12] == b'WAVE', path
    pos = 12
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack('<I', data[pos + 4:pos + 8])[0]
        if cid == b'data':
            return data[pos + 8:pos + 8 + size]
        pos += 8 + size + (size & 1)
    raise AssertionError('no data chunk in %s' % path)


def ffmpeg_pcm(path, *args):
    """ffmpeg's decode of path as s16le (its own demuxer and decoder)."""
    r = run(['ffmpeg', '-nostdin', '-v', 'error', '-i', path, *args, '-f', 's16le', '-'])
    assert r.returncode == 0, r.stderr
    return r.stdout


def soxi(path):
    need('sox')
    vals = []
    for opt in ('-r', '-c', '-s'):
        r = run(['sox', '--i', opt, path])
        assert r.returncode == 0, r.stderr
        vals.append(int(r.stdout.decode().strip()))
    return tuple(vals)


def ffprobe(path):
    r = run(['ffprobe', '-v', 'error', '-select_streams', 'a:0', '-count_packets', '-show_entries',
             'stream=sample_rate,channels,duration_ts:format=duration', '-of', 'json', path])
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    s = j['streams'][0]
    return int(s['sample_rate']), int(s['channels']), int(s.get('duration_ts', 0)), float(j['format']['duration'])


def by_file(index):
    return {e['file']: e for e in index}


class Oracles(unittest.TestCase):
    def assert_wav(self, path, rate, channels, samples):
        self.assertEqual(soxi(path), (rate, channels, samples), 'sox on ' + path)
        r, c, _, duration = ffprobe(path)
        self.assertEqual((r, c), (rate, channels), 'ffprobe on ' + path)
        self.assertAlmostEqual(duration, samples / rate, places=3)


class Decoded(Oracles):
    def same_as_ffmpeg(self, src, track_file, rate, channels):
        out, index, _ = kvsp_audio(src)
        path = os.path.join(out, track_file)
        got = wav_data(path)
        want = ffmpeg_pcm(src, '-map', '0:a')
        self.assertEqual(len(got), len(want))
        self.assertEqual(got, want, 'samples differ from ffmpeg -f s16le')
        self.assert_wav(path, rate, channels, len(want) // (2 * channels))
        entry = by_file(index)[track_file]
        self.assertEqual((entry['source'], entry['samples'], entry['gap_count']), ('decoded', len(want) // (2 * channels), 0))
        return out, index

    def test_aac_fixture(self):
        self.same_as_ffmpeg(fixture('aac_track.mkv'), 'track-1-tone.wav', 16000, 1)

    def test_aac_in_audio_video(self):
        src = os.path.join(RESOURCES, 'audio_video.mkv')
        out, index, _ = kvsp_audio(src)
        self.assertEqual([e['track'] for e in index], [2])
        self.assertEqual(wav_data(os.path.join(out, index[0]['file'])), ffmpeg_pcm(src, '-map', '0:a'))

    def test_laced_blocks(self):
        # The frames of a lace share their block's time: they follow one another, not overlap.
        for name in ('lacing_fixed.mkv', 'lacing_xiph.mkv', 'lacing_ebml.mkv'):
            with self.subTest(fixture=name):
                src = os.path.join(RESOURCES, name)
                out, index, _ = kvsp_audio(src)
                self.assertEqual(wav_data(os.path.join(out, index[0]['file'])), ffmpeg_pcm(src, '-map', '0:a'))
                self.assertEqual((index[0]['overlaps'], index[0]['gap_count']), (0, 0))

    def test_vogels_capture(self):
        self.same_as_ffmpeg(capture('vogels_330.mkv'), 'track-2-Stereo.wav', 48000, 2)

    def test_mix_down_like_ffmpeg(self):
        src = capture('vogels_330.mkv')
        out, index, _ = kvsp_audio(src, '--channels', '1')
        got = wav_data(os.path.join(out, index[0]['file']))
        self.assertEqual(got, ffmpeg_pcm(src, '-map', '0:a', '-ac', '1'))
        self.assertEqual(index[0]['channels'], 1)

    def test_flac_and_raw(self):
        src = fixture('aac_track.mkv')
        wav_out, _, _ = kvsp_audio(src)
        want = wav_data(os.path.join(wav_out, 'track-1-tone.wav'))
        flac_out, index, _ = kvsp_audio(src, '--format', 'flac')
        flac = os.path.join(flac_out, 'track-1-tone.flac')
        self.assertEqual(ffmpeg_pcm(flac), want, 'ffmpeg decodes our FLAC to other samples')
        self.assertEqual(ffprobe(flac)[:2], (16000, 1))
        self.assertEqual(soxi(flac), (16000, 1, len(want) // 2))
        raw_out, _, _ = kvsp_audio(src, '--format', 'raw')
        self.assertEqual(read(os.path.join(raw_out, 'track-1-tone.raw')), want)


class Copied(Oracles):
    def test_gaps_overlap_and_split(self):
        src = fixture('pcm_gaps.mkv')
        out, index, r = kvsp_audio(src)
        files = by_file(index)
        self.assertEqual(sorted(files), ['track-1-gappy-1.wav', 'track-1-gappy.wav', 'track-2-big.wav',
                                         'track-3-float.wav', 'track-4-acm.wav', 'track-5-s24.wav'])
        # Track 1: blocks at their timecodes; the 60 ms hole is silence; the block 10 ms early loses
        # its first 80 samples; the 3 s gap starts a second file.
        n = gen.BLOCK_SAMPLES
        first, second = [t for t in gen.GAP_TIMES if t < 3000], [t for t in gen.GAP_TIMES if t >= 3000]
        timeline = {}
        for t in first:
            start = t * 8
            for i, s in enumerate(gen.gap_block_pcm(t)):
                timeline.setdefault(start + i, s)  # an earlier block keeps the samples it had
        end = max(timeline) + 1
        want = gen.s16le([timeline.get(i, 0) for i in range(end)])
        self.assertEqual(wav_data(os.path.join(out, 'track-1-gappy.wav')), want)
        self.assert_wav(os.path.join(out, 'track-1-gappy.wav'), 8000, 1, end)
        e = files['track-1-gappy.wav']
        self.assertEqual((e['gap_count'], e['gap_samples'], e['overlaps'], e['overlap_samples']), (1, 480, 1, 80))
        self.assertEqual(e['gaps'][0]['position'], 200 * 8)
        self.assertIn(b'overlap', r.stderr)
        want2 = b''.join(gen.s16le(gen.gap_block_pcm(t)) for t in second)
        self.assertEqual(wav_data(os.path.join(out, 'track-1-gappy-1.wav')), want2)
        self.assertEqual(files['track-1-gappy-1.wav']['first_pts_ms'], second[0])
        self.assertEqual(files['track-1-gappy-1.wav']['samples'], len(second) * n)
        # Track 2 (big-endian) is copied, swapped; track 3 (float) converted as ffmpeg does.
        big = wav_data(os.path.join(out, 'track-2-big.wav'))
        self.assertEqual(big, gen.s16le(gen.tone(600, 0, len(gen.PLAIN_TIMES) * n)))
        self.assertEqual(big, ffmpeg_pcm(src, '-map', '0:a:1'))
        self.assertEqual(wav_data(os.path.join(out, 'track-3-float.wav')), ffmpeg_pcm(src, '-map', '0:a:2'))
        # Track 4 (A_MS/ACM, PCM WAVEFORMATEX) is copied; track 5 (24 bits) converted as ffmpeg does.
        acm = wav_data(os.path.join(out, 'track-4-acm.wav'))
        self.assertEqual(acm, gen.s16le(gen.tone(300, 0, len(gen.PLAIN_TIMES) * n)))
        self.assertEqual(acm, ffmpeg_pcm(src, '-map', '0:a:3'))
        self.assertEqual(files['track-4-acm.wav']['source_codec'], 's16le')
        self.assertEqual(wav_data(os.path.join(out, 'track-5-s24.wav')), ffmpeg_pcm(src, '-map', '0:a:4'))
        s32 = tempfile.mkdtemp(dir=TMP)
        r = run([KVSP, 'audio', '--track', '5', '--sample-format', 's32', '--format', 'raw', '-o', s32, src])
        self.assertEqual(r.returncode, 0, r.stderr)
        want = run(['ffmpeg', '-nostdin', '-v', 'error', '-i', src, '-map', '0:a:4', '-f', 's32le', '-']).stdout
        self.assertEqual(read(os.path.join(s32, 'track-5-s24.raw')), want)

    def test_no_split(self):
        src = fixture('pcm_gaps.mkv')
        last = gen.GAP_TIMES[-1]
        total = (last + gen.BLOCK_MS) * 8  # the media time covered: 0 to the end of the last block
        for option in ('0', '5'):
            _, index, _ = kvsp_audio(src, '--split-on-gap', option, '--track', '1')
            self.assertEqual([e['samples'] for e in index], [total], '--split-on-gap ' + option)
        path = os.path.join(TMP, 'one.wav')
        r = run([KVSP, 'audio', '--track', '1', '--split-on-gap', '0', '-o', path, src])
        self.assertEqual(r.returncode, 0, r.stderr)
        line = json.loads(r.stdout)
        self.assert_wav(path, 8000, 1, total)
        self.assertEqual((line['samples'], line['gap_count']), (total, 2))
        data = wav_data(path)
        gap_start, gap_end = 450 * 8, gen.GAP_TIMES[-10] * 8
        self.assertEqual(data[2 * gap_start:2 * gap_end], bytes(2 * (gap_end - gap_start)))
        self.assertNotEqual(data[2 * gap_end:2 * gap_end + 320], bytes(320))

    def test_split_threshold(self):
        src = fixture('pcm_gaps.mkv')
        _, index, _ = kvsp_audio(src, '--track', '1', '--split-on-gap', '2.9')
        self.assertEqual(len(index), 2)
        _, index, _ = kvsp_audio(src, '--track', '1', '--split-on-gap', '3.1')
        self.assertEqual(len(index), 1)


def wav_fmt(path):
    """(format tag, channel mask or None) of a WAV file's fmt chunk."""
    data = read(path)
    pos = 12
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack('<I', data[pos + 4:pos + 8])[0]
        if cid == b'fmt ':
            tag = struct.unpack('<H', data[pos + 8:pos + 10])[0]
            mask = struct.unpack('<I', data[pos + 28:pos + 32])[0] if tag == 0xFFFE and size >= 40 else None
            return tag, mask
        pos += 8 + size + (size & 1)
    raise AssertionError('no fmt chunk in %s' % path)


def ffprobe_layout(path):
    r = run(['ffprobe', '-v', 'error', '-select_streams', 'a:0', '-show_entries',
             'stream=codec_name,channels,channel_layout', '-of', 'json', path])
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)['streams'][0]
    return s['codec_name'], s['channels'], s.get('channel_layout')


def sox_s16(path, bits=16):
    """sox's read of path as signed little-endian integers of bits, without dither."""
    need('sox')
    r = run(['sox', '-D', path, '-t', 'raw', '-e', 'signed-integer', '-b', str(bits), '-L', '-'])
    assert r.returncode == 0, r.stderr
    return r.stdout


class Extensible(Oracles):
    """More than two channels, or more than 16 bits: WAVE_FORMAT_EXTENSIBLE with a channel mask;
    ffprobe and sox read the 5.1 fixture back as the PCM that went in."""

    def test_surround(self):
        src = fixture('pcm_51.mkv')
        want = gen.surround_pcm()
        n = len(want) // 12
        for fmt, codec in (('s16', 'pcm_s16le'), ('s32', 'pcm_s32le'), ('f32', 'pcm_f32le')):
            with self.subTest(sample_format=fmt):
                out, index, _ = kvsp_audio(src, '--sample-format', fmt)
                path = os.path.join(out, 'track-1-surround.wav')
                self.assertEqual(wav_fmt(path), (0xFFFE, 0x3F))  # FL FR FC LFE BL BR
                self.assertEqual(ffprobe_layout(path), (codec, 6, '5.1'))
                self.assert_wav(path, 8000, 6, n)
                self.assertEqual(ffmpeg_pcm(path), want, 'ffmpeg reads other samples')
                self.assertEqual(sox_s16(path), want, 'sox reads other samples')
                self.assertEqual(index[0]['channels'], 6)

    def test_stereo_and_mono(self):
        src = capture('vogels_330.mkv')
        out, index, _ = kvsp_audio(src)
        self.assertEqual(wav_fmt(os.path.join(out, index[0]['file'])), (1, None))  # 16-bit stereo: plain PCM
        out, index, _ = kvsp_audio(src, '--sample-format', 's32')
        path = os.path.join(out, index[0]['file'])
        self.assertEqual(wav_fmt(path), (0xFFFE, 0x3))  # FL FR
        self.assertEqual(ffprobe_layout(path), ('pcm_s32le', 2, 'stereo'))
        # 32 bits from the decoder, as ffmpeg's -f s32le of the source
        want = run(['ffmpeg', '-nostdin', '-v', 'error', '-i', src, '-map', '0:a', '-f', 's32le', '-']).stdout
        self.assertEqual(sox_s16(path, 32), want)
        self.assertEqual(run(['ffmpeg', '-nostdin', '-v', 'error', '-i', path, '-f', 's32le', '-']).stdout, want)

    def test_mono_float(self):
        out, index, _ = kvsp_audio(fixture('pcm_gaps.mkv'), '--track', '3', '--sample-format', 'f32')
        path = os.path.join(out, index[0]['file'])
        self.assertEqual(wav_fmt(path), (0xFFFE, 0x4))  # FC
        self.assertEqual(ffprobe_layout(path), ('pcm_f32le', 1, 'mono'))
        self.assertEqual(ffmpeg_pcm(path), gen.s16le(gen.tone(800, 0, len(gen.PLAIN_TIMES) * gen.BLOCK_SAMPLES)))


class Connect(Oracles):
    def check_call(self, out, index, call, piece=0):
        """The piece-th file of each speaker (found by the Name in the index) holds call's PCM."""
        files = by_file(index)
        facts = json.load(open(fixture('fixtures.json')))['fixtures']['connect_two_calls.mkv']['calls'][call]
        for name in ('AUDIO_FROM_CUSTOMER', 'AUDIO_TO_CUSTOMER'):
            fname = [e['file'] for e in index if e['name'] == name][piece]
            self.assertTrue(fname.endswith('-%s%s.wav' % (name, '-%d' % piece if piece else '')), fname)
            path = os.path.join(out, fname)
            self.assertEqual(wav_data(path), gen.connect_pcm(name, call), '%s of call %s' % (name, call))
            self.assert_wav(path, 8000, 1, facts['samples'])
            e = files[fname]
            self.assertEqual((e['name'], e['codec'], e['source'], e['sample_rate'], e['channels']),
                             (name, 'A_AAC', 'connect-l16', 8000, 1))
            self.assertEqual(e['first_producer_timestamp_ms'], facts['first_producer_timestamp_ms'])
            self.assertEqual((e['gap_count'], e['overlaps']), (0, 0))

    def test_speakers_and_calls(self):
        out, index, _ = kvsp_audio(fixture('connect_two_calls.mkv'))
        self.assertEqual(len(index), 4)
        self.check_call(out, index, 'A')
        self.check_call(out, index, 'B', 1)

    def test_contact_id(self):
        facts = json.load(open(fixture('fixtures.json')))['fixtures']['connect_two_calls.mkv']['calls']
        out, index, r = kvsp_audio(fixture('connect_two_calls.mkv'), '--contact-id', facts['A']['contact_id'])
        self.assertEqual(len(index), 2)
        self.check_call(out, index, 'A')  # the tagless fragment 1 belongs to call A
        out, index, _ = kvsp_audio(fixture('connect_two_calls.mkv'), '--contact-id', facts['B']['contact_id'])
        self.assertEqual(len(index), 2)
        self.check_call(out, index, 'B')
        _, index, _ = kvsp_audio(fixture('connect_two_calls.mkv'), '--contact-id', 'no-such-call')
        self.assertEqual(index, [])

    def test_start_mid_call(self):
        # --start on a file, as on a stream: from fragment 2 (200 ms into call A), given as Connect's
        # contact attributes give it (a fragment number, a producer timestamp), by file and by stdin.
        src = fixture('connect_two_calls.mkv')
        facts = json.load(open(fixture('fixtures.json')))['fixtures']['connect_two_calls.mkv']
        frag = facts['fragments'][2]
        skip = (frag['producer_timestamp_ms'] - facts['calls']['A']['first_producer_timestamp_ms']) * 8
        whole, whole_index, _ = kvsp_audio(src, '--contact-id', facts['calls']['A']['contact_id'])
        ts = frag['producer_timestamp_ms'] / 1000.0
        for start in ('fragment:' + frag['fragment_number'], 'producer-ts:%.3f' % ts, 'producer-ts:%.3f' % (ts - 0.05),
                      'server-ts:%.3f' % (ts + 0.613), 'continuation:' + facts['fragments'][1]['fragment_number']):
            with self.subTest(start=start):
                out, index, _ = kvsp_audio(src, '--start', start)
                self.assertEqual(len(index), 4)
                for name in ('AUDIO_FROM_CUSTOMER', 'AUDIO_TO_CUSTOMER'):
                    fname = 'track-%s-%s.wav' % ([k for k, v in frag['track_names'].items() if v == name][0], name)
                    path = os.path.join(out, fname)
                    want = gen.connect_pcm(name, 'A')[2 * skip:]
                    self.assertEqual(wav_data(path), want, name)
                    self.assert_wav(path, 8000, 1, len(want) // 2)
                    # sox trimming the whole call's file independently agrees
                    whole_file = [e['file'] for e in whole_index if e['name'] == name][0]
                    trimmed = run(['sox', os.path.join(whole, whole_file), '-t', 'raw', '-', 'trim', '%ds' % skip])
                    self.assertEqual(trimmed.stdout, want)
                    e = by_file(index)[fname]
                    self.assertEqual((e['first_producer_timestamp_ms'], e['first_fragment_number']),
                                     (frag['producer_timestamp_ms'], frag['fragment_number']))
                self.check_call(out, index, 'B', 1)
        piped = tempfile.mkdtemp(dir=TMP)
        with open(src, 'rb') as stdin:
            r = subprocess.run([KVSP, 'audio', '-o', piped, '--chunk-size', '333', '--start',
                                'fragment:' + frag['fragment_number'], '-'], stdin=stdin, capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(os.listdir(piped)), sorted(os.listdir(out)))
        for f in os.listdir(out):
            self.assertEqual(read(os.path.join(piped, f)), read(os.path.join(out, f)), f)

    def test_replayed_fragment_overlaps(self):
        # A fragment delivered twice (a consumer resuming replays it): the second copy overlaps the
        # first entirely; it is reported and dropped, the speakers' files stay the call's PCM.
        src = fixture('connect_two_calls.mkv')
        facts = json.load(open(fixture('fixtures.json')))['fixtures']['connect_two_calls.mkv']
        offsets = facts['fragment_offsets']
        data = read(src)
        replayed = os.path.join(TMP, 'replayed.mkv')
        with open(replayed, 'wb') as f:
            f.write(data[:offsets[3]] + data[offsets[2]:offsets[3]])
        out, index, r = kvsp_audio(replayed)
        self.assertEqual(len(index), 2)
        for e in index:
            self.assertEqual(wav_data(os.path.join(out, e['file'])), gen.connect_pcm(e['name'], 'A'))
            # each of its 5 blocks of 20 ms overlaps: 800 samples dropped
            self.assertEqual((e['overlaps'], e['overlap_samples'], e['gap_count']), (5, 800, 0))
        self.assertEqual(r.stderr.count(b'overlap dropped'), 10)

    def test_start_where_tracks_swap(self):
        # Fragment 1 numbers the tracks the other way round: the files still follow the Names.
        src = fixture('connect_two_calls.mkv')
        frag = json.load(open(fixture('fixtures.json')))['fixtures']['connect_two_calls.mkv']['fragments'][1]
        self.assertEqual(frag['track_names']['1'], 'AUDIO_TO_CUSTOMER')
        out, index, _ = kvsp_audio(src, '--start', 'fragment:' + frag['fragment_number'])
        files = by_file(index)
        for number, name in frag['track_names'].items():
            fname = 'track-%s-%s.wav' % (number, name)
            self.assertEqual(wav_data(os.path.join(out, fname)), gen.connect_pcm(name, 'A')[2 * 800:])
            self.assertEqual(files[fname]['track'], int(number))

    def test_start_fragments_and_errors(self):
        src = fixture('connect_two_calls.mkv')
        facts = json.load(open(fixture('fixtures.json')))['fixtures']['connect_two_calls.mkv']['fragments']
        numbers = [f['fragment_number'] for f in facts]
        for k in range(len(numbers)):
            r = run([KVSP, 'fragments', '--start', 'fragment:' + numbers[k], src])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual([json.loads(line)['fragment_number'] for line in r.stdout.splitlines()], numbers[k:])
        # ISO 8601, between fragments 2 and 3: from fragment 3 on
        r = run([KVSP, 'fragments', '--start', 'producer-ts:2023-11-14T22:13:25Z', src])
        self.assertEqual([json.loads(line)['fragment_number'] for line in r.stdout.splitlines()], numbers[3:])
        r = run([KVSP, 'audio', '-o', os.path.join(TMP, 'none'), '--start', 'fragment:12345', src])
        self.assertEqual(r.returncode, 1)
        self.assertIn(b'no fragment numbered 12345', r.stderr)
        r = run([KVSP, 'fragments', '--start', 'now', src])
        self.assertEqual(r.returncode, 2)

    def test_start_frames_of_capture(self):
        # The shared input code: kvsp frames --list of a GetMedia capture from its third fragment is
        # the whole list's frames of fragments 2 on (ffprobe counts the packets of a merge of them).
        src = capture('output_get_media.mkv')
        whole = [json.loads(line) for line in run([KVSP, 'frames', '--list', src]).stdout.splitlines()]
        number = [f['fragment_number'] for f in whole if f['fragment_index'] == 2][0]
        r = run([KVSP, 'frames', '--list', '--start', 'fragment:' + number, src])
        self.assertEqual(r.returncode, 0, r.stderr)
        key = lambda f: (f['track'], f['fragment_number'], f['pts_ms'], f['size'])  # noqa: E731
        got = [key(json.loads(line)) for line in r.stdout.splitlines()]
        self.assertEqual(got, [key(f) for f in whole if f['fragment_index'] >= 2])
        merged = os.path.join(TMP, 'from_third.mkv')
        r = run([KVSP, 'merge', '--start', 'fragment:' + number, '-o', merged, src])
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run(['ffprobe', '-v', 'error', '-count_packets', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0',
                 merged])
        self.assertEqual(sum(int(x) for x in r.stdout.split()), len(got))

    def test_resampled_like_ffmpeg(self):
        facts = json.load(open(fixture('fixtures.json')))['fixtures']['connect_two_calls.mkv']['calls']
        out, index, _ = kvsp_audio(fixture('connect_two_calls.mkv'), '--contact-id', facts['A']['contact_id'],
                                   '--sample-rate', '16000')
        raw = os.path.join(TMP, 'customer_a.raw')
        with open(raw, 'wb') as f:
            f.write(gen.connect_pcm('AUDIO_FROM_CUSTOMER', 'A'))
        want = ffmpeg_pcm_raw(raw, 8000, '-ar', '16000')
        path = os.path.join(out, 'track-1-AUDIO_FROM_CUSTOMER.wav')
        self.assertEqual(wav_data(path), want, 'libswresample here and in ffmpeg -ar 16000 differ')
        self.assert_wav(path, 16000, 1, len(want) // 2)

    def test_codec_override(self):
        # Read the customer track as big-endian PCM: the samples come out byte-swapped.
        out, index, _ = kvsp_audio(fixture('connect_two_calls.mkv'), '--codec-override',
                                   'AUDIO_FROM_CUSTOMER=A_PCM/INT/BIG,8000,1')
        files = by_file(index)
        self.assertEqual(files['track-1-AUDIO_FROM_CUSTOMER.wav']['source'], 'override')
        src = gen.connect_pcm('AUDIO_FROM_CUSTOMER', 'A')
        swapped = b''.join(src[i + 1:i + 2] + src[i:i + 1] for i in range(0, len(src), 2))
        self.assertEqual(wav_data(os.path.join(out, 'track-1-AUDIO_FROM_CUSTOMER.wav')), swapped)
        self.assertEqual(wav_data(os.path.join(out, 'track-2-AUDIO_TO_CUSTOMER.wav')),
                         gen.connect_pcm('AUDIO_TO_CUSTOMER', 'A'))


class Streaming(unittest.TestCase):
    """kvsp audio --stream from kvsp serve (which cuts its first GetMedia response): the files are
    those of the whole file, byte for byte."""

    def serve_root(self, *names):
        if run([KVSP, 'serve', '--help']).returncode != 0:
            raise unittest.SkipTest('kvsp serve not built')
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'client'))
        root = tempfile.mkdtemp(dir=TMP)
        for name in names:
            shutil.copy(fixture(name + '.mkv'), os.path.join(root, name + '.mkv'))
        environ = {k: v for k, v in os.environ.items() if not k.startswith('AWS_')}
        environ.update(AWS_ACCESS_KEY_ID='AKIDAUDIO', AWS_SECRET_ACCESS_KEY='audio/test/secret',
                       AWS_REGION='us-west-2', AWS_EC2_METADATA_DISABLED='true', HOME=root)
        return root, environ

    def test_contact_id_over_stream(self):
        # serve keeps each fragment's own tags (ContactId, InstanceId, MimeType) as KVS does, so
        # --contact-id works on the stream: each call's WAV files equal the file's (and the PCM that
        # went in), with cuts. The fixture's Clusters have KVS's timecodes: serve places by them.
        root, environ = self.serve_root('connect_cluster_times')
        import kvsp_server
        src = fixture('connect_cluster_times.mkv')
        facts = json.load(open(fixture('fixtures.json')))['fixtures']['connect_two_calls.mkv']
        for cut in ('1:3000', '3:700'):
            with self.subTest(cut=cut), kvsp_server.KvspServer(
                    KVSP, root, '--access-key', 'AKIDAUDIO', '--secret-key', 'audio/test/secret',
                    '--fault-cut-at', cut) as server:
                common = ['--stream', 'connect_cluster_times', '--start', 'earliest', '--endpoint-url', server.url]
                r = subprocess.run([KVSP, 'fragments', *common], capture_output=True, timeout=120, env=environ)
                self.assertEqual(r.returncode, 0, r.stderr)
                got = [{t['name']: t['value'] for t in json.loads(line)['tags']} for line in r.stdout.splitlines()]
                self.assertEqual([g.get('ContactId') for g in got], [f['contact_id'] for f in facts['fragments']])
                self.assertEqual({g.get('MimeType') for g in got}, {'audio/L16;rate=8000;channels=1'})
                for call in ('A', 'B'):
                    contact = facts['calls'][call]['contact_id']
                    want, index, _ = kvsp_audio(src, '--contact-id', contact)
                    out = tempfile.mkdtemp(dir=TMP)
                    r = subprocess.run([KVSP, 'audio', *common, '--contact-id', contact, '-o', out],
                                       capture_output=True, timeout=120, env=environ)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    files = sorted(e['file'] for e in index)
                    self.assertEqual(len(files), 2)
                    self.assertEqual(sorted(f for f in os.listdir(out) if f != 'index.jsonl'), files)
                    for e in index:
                        self.assertEqual(wav_data(os.path.join(want, e['file'])), gen.connect_pcm(e['name'], call))
                    for f in files:
                        self.assertEqual(read(os.path.join(out, f)), read(os.path.join(want, f)), f)
                self.assertIn('cut at fragment', server.stderr())

    def test_cut_stream_same_files(self):
        root, environ = self.serve_root('pcm_gaps', 'aac_track')
        import kvsp_server
        for cut in ('1:3000', '0:700'):
            with self.subTest(cut=cut), kvsp_server.KvspServer(
                    KVSP, root, '--access-key', 'AKIDAUDIO', '--secret-key', 'audio/test/secret',
                    '--fault-cut-at', cut) as server:
                for name in ('pcm_gaps', 'aac_track'):
                    want, index, _ = kvsp_audio(fixture(name + '.mkv'))
                    got = tempfile.mkdtemp(dir=TMP)
                    r = subprocess.run([KVSP, 'audio', '--stream', name, '--start', 'earliest', '--endpoint-url',
                                        server.url, '-o', got], capture_output=True, timeout=120, env=environ)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    files = sorted(e['file'] for e in index)
                    self.assertEqual(sorted(f for f in os.listdir(got) if f != 'index.jsonl'), files)
                    for f in files:
                        self.assertEqual(read(os.path.join(got, f)), read(os.path.join(want, f)), f)
                self.assertIn('cut at fragment', server.stderr())


def ffmpeg_pcm_raw(path, rate, *args):
    r = run(['ffmpeg', '-nostdin', '-v', 'error', '-f', 's16le', '-ar', str(rate), '-ac', '1', '-i', path, *args,
             '-f', 's16le', '-'])
    assert r.returncode == 0, r.stderr
    return r.stdout


if __name__ == '__main__':
    KVSP, RESOURCES = sys.argv[1], sys.argv[2]
    CAPTURES = sys.argv[3] if len(sys.argv) > 3 and os.path.isdir(sys.argv[3]) else None
    sys.path.insert(0, RESOURCES)
    import make_audio_fixtures as gen  # noqa: E402
    TMP = tempfile.mkdtemp(prefix='kvsp-audio-')
    try:
        program = unittest.main(argv=sys.argv[:1], verbosity=2, exit=False)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    sys.exit(kvsp_testing.status(program.result))
