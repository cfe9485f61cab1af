#ifndef KVSPARSER_EXPORT_H
#define KVSPARSER_EXPORT_H

/* The library is built with hidden visibility; only symbols marked KVSP_API
 * are part of the ABI. KVSP_STATIC is defined by users of the static library. */
#if defined(KVSP_STATIC)
#define KVSP_API
#elif defined(_WIN32)
#ifdef KVSP_BUILDING
#define KVSP_API __declspec(dllexport)
#else
#define KVSP_API __declspec(dllimport)
#endif
#elif defined(__GNUC__)
#define KVSP_API __attribute__((visibility("default")))
#else
#define KVSP_API
#endif

#endif
