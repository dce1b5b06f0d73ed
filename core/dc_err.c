#include "dc_err.h"

#include <stdarg.h>
#include <stdio.h>

int dc_err_set(dc_err *e, int code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        e->code = code;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *dc_err_name(int code)
{
    switch (code) {
    case DC_OK: return "ok";
    case DC_EINVAL: return "invalid argument";
    case DC_ENOMEM: return "out of memory";
    case DC_EIO: return "i/o error";
    case DC_EFORMAT: return "malformed input";
    case DC_ECANCEL: return "cancelled";
    case DC_ENUMERIC: return "numeric error";
    }
    return "error";
}
