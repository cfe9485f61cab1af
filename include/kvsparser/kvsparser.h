#ifndef KVSPARSER_KVSPARSER_H
#define KVSPARSER_KVSPARSER_H

/* Umbrella header of libkvsparser. */
#include "kvsparser/alloc.h"
#include "kvsparser/content.h"
#include "kvsparser/element.h"
#include "kvsparser/element_visitors.h"
#include "kvsparser/event_format.h"
#include "kvsparser/fragment.h"
#include "kvsparser/frames.h"
#include "kvsparser/merger.h"
#include "kvsparser/reader.h"
#include "kvsparser/status.h"
#include "kvsparser/version.h"
#include "kvsparser/visitor.h"

#endif
