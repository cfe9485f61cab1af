"""Decoding and extraction cases of bench/run: kvsp against ffmpeg doing the same work on the
same file in the same run, each pair checked to have produced the same number of pictures.

The input (decode.mkv, bench/make_inputs.py) is the capture repeated with increasing
timestamps (ffmpeg's concat demuxer), so that ffmpeg's framemd5 does not drop pictures whose
timestamps repeat; both sides are asked for every picture (`-fps_mode passthrough`).

    decode, 1 thread / N threads   kvsp frames --framemd5 --threads T   ffmpeg -threads T ... -f framemd5
    one JPEG per second            --interval-ms 1000 --format jpeg     -vf fps=1 %06d.jpg
    keyframes only                 --keyframes --format jpeg            -skip_frame nokey %06d.jpg
    keyframes only, framemd5       --framemd5 --keyframes               -skip_frame nokey -f framemd5
    scaled RGB for a model         --size 224x224 --format raw          -s 224x224 -pix_fmt rgb24 -f rawvideo -
                                   --pix-fmt rgb24 -o -                 (both to a pipe, as a model reads them)
"""
import os
import shutil
import subprocess

RGB224 = 224 * 224 * 3


def _framemd5_lines(cmd):
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout
    return sum(1 for line in out.split(b'\n') if line and not line.startswith(b'#'))


def _jpeg_count(d):
    return sum(1 for n in os.listdir(d) if n.endswith('.jpg'))


def _rgb224_pictures(cmd):
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout
    return len(out) // RGB224 if len(out) % RGB224 == 0 else -1


def rgb224_commands(kvsp, path):
    """The pair "scaled RGB 224x224": kvsp's command and ffmpeg's (also run by
    bench/rgb224_ab.py, which compares builds)."""
    ff = ['ffmpeg', '-nostdin', '-v', 'error', '-y']
    return ([kvsp, 'frames', '-o', '-', '--size', '224x224', '--format', 'raw', '--pix-fmt', 'rgb24', path],
            ff + ['-i', path, '-map', '0:v', '-s', '224x224', '-pix_fmt', 'rgb24', '-fps_mode', 'passthrough',
                  '-f', 'rawvideo', '-'])


def cases(process, median, kvsp, path, runs, workdir):
    """Yields (name, ours, theirs, reference name, pictures) for each pair; `process`
    and `median` are bench/run's. Raises RuntimeError when the two sides' counts differ."""
    nproc = os.cpu_count() or 1
    out = os.path.join(workdir, 'extract')
    ours_dir, theirs_dir = os.path.join(out, 'kvsp'), os.path.join(out, 'ffmpeg')

    def fresh():
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(ours_dir)
        os.makedirs(theirs_dir)

    ff = ['ffmpeg', '-nostdin', '-v', 'error', '-y']
    pairs = []
    for threads in (1, nproc):
        pairs.append(('decode, %d thread%s' % (threads, '' if threads == 1 else 's'),
                      [kvsp, 'frames', '--framemd5', '--threads', str(threads), path],
                      ff + ['-threads', str(threads), '-i', path, '-map', '0:v', '-fps_mode', 'passthrough',
                            '-f', 'framemd5', '-'],
                      'ffmpeg -threads %d -f framemd5' % threads,
                      _framemd5_lines))
    pairs.append(('one JPEG per second',
                  [kvsp, 'frames', '-o', ours_dir, '--interval-ms', '1000', '--format', 'jpeg', path],
                  ff + ['-i', path, '-map', '0:v', '-vf', 'fps=1', os.path.join(theirs_dir, '%06d.jpg')],
                  'ffmpeg -vf fps=1', None))
    pairs.append(('keyframes only',
                  [kvsp, 'frames', '-o', ours_dir, '--keyframes', '--format', 'jpeg', path],
                  ff + ['-skip_frame', 'nokey', '-i', path, '-map', '0:v', '-fps_mode', 'passthrough',
                        os.path.join(theirs_dir, '%06d.jpg')],
                  'ffmpeg -skip_frame nokey', None))
    # The same keyframes hashed instead of encoded: the like-for-like figure against our own full
    # decode (bench/run's keyframes target), both sides hashing the pictures they decode.
    pairs.append(('keyframes only, framemd5',
                  [kvsp, 'frames', '--framemd5', '--keyframes', path],
                  ff + ['-skip_frame', 'nokey', '-i', path, '-map', '0:v', '-fps_mode', 'passthrough',
                        '-f', 'framemd5', '-'],
                  'ffmpeg -skip_frame nokey -f framemd5', _framemd5_lines))
    pairs.append(('scaled RGB 224x224', *rgb224_commands(kvsp, path),
                  'ffmpeg -s 224x224 -pix_fmt rgb24 -f rawvideo -', _rgb224_pictures))
    for name, mine, ref, ref_name, counter in pairs:
        if counter:
            n_mine, n_ref = counter(mine), counter(ref)
        else:
            fresh()
            subprocess.run(mine, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            subprocess.run(ref, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            n_mine, n_ref = _jpeg_count(ours_dir), _jpeg_count(theirs_dir)
        if n_mine != n_ref or n_mine <= 0:
            raise RuntimeError('%s: kvsp made %d pictures, %s %d' % (name, n_mine, ref_name, n_ref))
        m = process(mine, runs, fresh)
        r = process(ref, runs, fresh)
        yield name, m, r, ref_name, n_mine
    shutil.rmtree(out, ignore_errors=True)
