#include "kvsparser/status.h"

const char *kvsp_status_name(int status)
{
    switch (status) {
#define KVSP_STATUS_NAME_(name, value, text) \
    case value: return #name;
        KVSP_STATUS_MAP(KVSP_STATUS_NAME_)
#undef KVSP_STATUS_NAME_
    }
    return "UNKNOWN_STATUS";
}

const char *kvsp_status_str(int status)
{
    switch (status) {
#define KVSP_STATUS_TEXT_(name, value, text) \
    case value: return text;
        KVSP_STATUS_MAP(KVSP_STATUS_TEXT_)
#undef KVSP_STATUS_TEXT_
    }
    return "unknown status";
}
