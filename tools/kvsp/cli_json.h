#ifndef KVSP_CLI_JSON_H
#define KVSP_CLI_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* JSON values for the line-oriented outputs of kvsp, built with Jansson. */

/* A string, or null for NULL; bytes that are not valid UTF-8 become U+FFFD
 * so that any tag value still gives a valid line. */
json_t *cli_json_string(const char *s, size_t len);
json_t *cli_json_cstring(const char *s);
/* Lower-case hex of the bytes, or null for NULL. */
json_t *cli_json_hex(const uint8_t *p, size_t len);
/* A number of milliseconds: an integer when whole, else a real. */
json_t *cli_json_ms(double ms);
/* Sets key to value, taking the reference; nothing if value is NULL. */
void cli_json_set(json_t *obj, const char *key, json_t *value);
/* Writes the object as one compact line to stdout and releases it.
 * Returns 0, or -1 on a write error. */
int cli_json_print_line(json_t *obj);

#endif
