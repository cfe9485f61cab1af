#include "kvsparser/version.h"

const char *kvsp_version(void)
{
    return KVSP_VERSION_STRING;
}

unsigned kvsp_version_number(void)
{
    return KVSP_VERSION_NUMBER;
}
