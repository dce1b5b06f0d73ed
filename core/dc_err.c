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
#define DC__ERR_MSG(name, value, text) case DC_##name: return text;
    DC_ERR_MAP(DC__ERR_MSG)
#undef DC__ERR_MSG
    }
    return "error";
}
