#ifndef KVSP_RENDER_SCREENSHOT_H
#define KVSP_RENDER_SCREENSHOT_H

#include <SDL.h>

/* Reads back what the renderer drew (call before SDL_RenderPresent) and
 * writes it to path as a PNG, encoded with libavcodec. Returns 0 or -1. */
int save_screenshot(SDL_Renderer *renderer, const char *path);

#endif
