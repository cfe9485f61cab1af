/* kvsp audio: per audio track, WAV, raw or FLAC files on the producer
 * timeline, and their index. Parsed here; the work needs the decoder
 * library, so it runs in kvsp-full (audio_extract.c). */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "audio_cli.h"
#include "cli_log.h"
#include "cli.h"

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: kvsp audio -o DIR [OPTIONS] [INPUT | --stream NAME]\n"
        "       kvsp audio --track N -o FILE [OPTIONS] [INPUT | --stream NAME]\n\n"
        "Writes the PCM of each audio track of INPUT, placed on the producer timeline\n"
        "(block timecodes and fragment producer timestamps, never block sizes): a\n"
        "gap becomes silence of its length, a gap over --split-on-gap seconds starts\n"
        "a new file, an overlap is dropped and reported. PCM tracks (A_PCM/*,\n"
        "A_MS/ACM) are copied; AAC and other codecs are decoded. Amazon Connect's\n"
        "tracks (A_AAC label, no Audio master, MimeType audio/L16) are copied as the\n"
        "L16 PCM they hold. Tracks are told apart by Name (else by number).\n\n"
        "-o DIR writes DIR/track-N-NAME.EXT (a later piece of the same track\n"
        "-K.EXT) and DIR/index.jsonl, one line per file: file, track, name, codec,\n"
        "source, source_codec, sample_rate, channels, sample_format,\n"
        "first/last_producer_timestamp_ms, first/last_server_timestamp_ms,\n"
        "first_fragment_number, samples, duration_ms, blocks, gaps (position,\n"
        "samples, ms, producer_timestamp_ms), gap_samples, overlaps,\n"
        "overlap_samples. With --track N, -o FILE (not a directory) is the file and\n"
        "its index line goes to stdout.\n\n"
        "  -o, --output DIR|FILE   where to write (DIR is created if needed)\n"
        "  --track N               only track number N\n"
        "  --format F              wav (default), raw (interleaved samples) or flac\n"
        "                          (s32 as 24-bit FLAC)\n"
        "  --sample-rate R         resample to R Hz (libswresample)\n"
        "  --channels C            mix to C channels\n"
        "  --sample-format F       s16 (default), s32 or f32 (not with flac)\n"
        "  --split-on-gap S        a gap over S seconds starts a new file (default 2;\n"
        "                          0: never: gaps up to a day are filled with silence)\n"
        "  --contact-id ID         only the fragments of that call (ContactId tag; a\n"
        "                          fragment without it belongs to the call before)\n"
        "  --codec-override TRACK=CODEC[,RATE[,CHANNELS]]\n"
        "                          read track TRACK (a number or a Name) as Matroska\n"
        "                          CodecID CODEC (e.g. A_PCM/INT/LIT,8000,1); repeatable\n" CLI_COMMON_OPTIONS_HELP);
}

static int parse_int(const char *text, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (end == text || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* TRACK=CODEC[,RATE[,CHANNELS]] */
static int parse_override(audio_args *a, const char *value)
{
    if (a->noverrides == AUDIO_CLI_MAX_OVERRIDES)
        return -1;
    const char *eq = strchr(value, '=');
    if (!eq || eq == value)
        return -1;
    char *track = strndup(value, (size_t)(eq - value));
    if (!track)
        return -1;
    const char *codec = eq + 1;
    const char *comma = strchr(codec, ',');
    size_t n = comma ? (size_t)(comma - codec) : strlen(codec);
    if (n == 0 || n >= sizeof a->overrides[0].codec) {
        free(track);
        return -1;
    }
    int rate = 0, channels = 0;
    if (comma) {
        char rate_text[16] = "", ch_text[8] = "";
        const char *second = strchr(comma + 1, ',');
        size_t rn = second ? (size_t)(second - comma - 1) : strlen(comma + 1);
        if (rn >= sizeof rate_text || (second && strlen(second + 1) >= sizeof ch_text)) {
            free(track);
            return -1;
        }
        memcpy(rate_text, comma + 1, rn);
        if (second)
            strcpy(ch_text, second + 1);
        if (parse_int(rate_text, 1, 768000, &rate) != 0 ||
            (second && parse_int(ch_text, 1, 64, &channels) != 0)) {
            free(track);
            return -1;
        }
    }
    /* Freed by cmd_audio after the run. */
    a->overrides[a->noverrides].track = track;
    memcpy(a->overrides[a->noverrides].codec, codec, n);
    a->overrides[a->noverrides].codec[n] = '\0';
    a->overrides[a->noverrides].rate = rate;
    a->overrides[a->noverrides].channels = channels;
    a->noverrides++;
    return 0;
}

static int audio_option(void *user, int c, const char *value)
{
    static const char *const formats[] = {"wav", "raw", "flac"};
    static const char *const sample_formats[] = {"s16", "s32", "f32"};
    audio_args *a = user;
    int ok = 0;
    switch (c) {
    case 'o': a->output = value; return 0;
    case 't': ok = cli_parse_size(value, &a->track) == 0 && a->track; break;
    case 'f':
        for (int i = 0; i < 3; i++)
            if (strcmp(value, formats[i]) == 0)
                a->format = i, ok = 1;
        break;
    case 'F':
        for (int i = 0; i < 3; i++)
            if (strcmp(value, sample_formats[i]) == 0)
                a->sample_format = i, ok = 1;
        break;
    case 'r': ok = parse_int(value, 1, 768000, &a->sample_rate) == 0; break;
    case 'c': ok = parse_int(value, 1, 64, &a->channels) == 0; break;
    case 'g': {
        char *end;
        a->split_on_gap_s = strtod(value, &end);
        ok = end != value && !*end && a->split_on_gap_s >= 0 && a->split_on_gap_s < 1e9;
        break;
    }
    case 'C':
        a->contact_id = value;
        ok = *value != '\0';
        break;
    case 'O': ok = parse_override(a, value) == 0; break;
    default: break;
    }
    if (ok)
        return 0;
    cli_error("kvsp audio: bad value '%s'\n", value ? value : "");
    return -1;
}

static int done(audio_args *a, int rc)
{
    for (int i = 0; i < a->noverrides; i++)
        free((char *)a->overrides[i].track);
    return rc;
}

int cmd_audio(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"track", required_argument, NULL, 't'},
        {"format", required_argument, NULL, 'f'},
        {"sample-rate", required_argument, NULL, 'r'},
        {"channels", required_argument, NULL, 'c'},
        {"sample-format", required_argument, NULL, 'F'},
        {"split-on-gap", required_argument, NULL, 'g'},
        {"contact-id", required_argument, NULL, 'C'},
        {"codec-override", required_argument, NULL, 'O'},
        CLI_COMMON_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    audio_args args;
    memset(&args, 0, sizeof args);
    args.split_on_gap_s = 2;
    cli_input_options in;
    cli_command_spec spec = {longopts, "o:", audio_option, &args, usage, 1};
    int rc = cli_parse_input_args(argc, argv, &spec, &in);
    if (rc >= 0)
        return done(&args, rc);
    if (!args.output) {
        cli_error("kvsp audio: say where to write with -o DIR (or --track N -o FILE)\n");
        return done(&args, CLI_EXIT_USAGE);
    }
    if (args.format == 2 && args.sample_format == 2) {
        cli_error("kvsp audio: FLAC holds integer samples: --sample-format s16 or s32\n");
        return done(&args, CLI_EXIT_USAGE);
    }
#ifdef KVSP_HAVE_DECODER
    rc = audio_extract(&args, &in);
#else
    rc = cli_delegate("kvsp audio", CLI_FEATURE_DECODER);
#endif
    return done(&args, rc);
}
