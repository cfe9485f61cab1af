/* Built against an installed kvsparser: reads the EBML header of a tiny
 * stream through the public API only. */
#include <stdio.h>
#include <string.h>

#include <kvsparser/kvsparser.h>

int main(void)
{
    static const unsigned char ebml[] = {0x1A, 0x45, 0xDF, 0xA3, 0x84, 0x42, 0x86, 0x81, 0x01};
    kvsp_reader *r = kvsp_reader_create(NULL);
    kvsp_event ev;
    int events = 0, st;
    kvsp_reader_feed(r, ebml, sizeof ebml);
    kvsp_reader_finish(r);
    while ((st = kvsp_reader_next(r, &ev)) == KVSP_OK)
        events++;
    kvsp_reader_destroy(r);
    printf("kvsparser %s: %d events, %s\n", kvsp_version(), events, kvsp_status_name(st));
    return events == 3 && st == KVSP_DONE && strcmp(kvsp_version(), KVSP_VERSION_STRING) == 0 ? 0
                                                                                              : 1;
}
