/* dc_err: the error convention of the whole project, and its one list of codes.
 *
 * Functions return 0 on success or a negative DC_E* code, and fill a dc_err with a
 * message meant for a person ("file.idx: truncated at byte 1234"). A NULL dc_err* is
 * allowed everywhere: the message is then dropped.
 *
 *   dc_err e = {0};
 *   if (data_load_idx(&ds, path, &e) < 0) fprintf(stderr, "%s\n", e.msg);
 *
 * Every layer uses the codes of DC_ERR_MAP (like libuv's UV_ERRNO_MAP): core the first
 * six, the service (server/svc/) the rest. The enum and dc_err_name() are generated
 * from it; add a code by adding a row. Codes carry no HTTP meaning here: the
 * HTTP layer alone maps them to statuses, in its own table (api/api_err.c). Values are
 * stable (never renumber a row): logs and tests quote them. */
#ifndef DC_ERR_H
#define DC_ERR_H

/* XX(name, value, message): DC_<name> = value; the message is dc_err_name's. */
#define DC_ERR_MAP(XX)                                                                  \
    XX(EINVAL, -1, "invalid argument")      /* bad argument or option */                \
    XX(ENOMEM, -2, "out of memory")         /* allocation failed */                     \
    XX(EIO, -3, "i/o error")                /* read/write failed */                     \
    XX(EFORMAT, -4, "malformed input")      /* malformed, truncated or inconsistent */  \
    XX(ECANCEL, -5, "cancelled")            /* stopped by a callback */                 \
    XX(ENUMERIC, -6, "numeric error")       /* NaN/Inf appeared */                      \
    XX(ENOTFOUND, -20, "not found")         /* no such dataset, job or model */         \
    XX(ECONFLICT, -21, "conflict")          /* busy or in the wrong state */            \
    XX(ETOOLARGE, -22, "too large")         /* over a size limit */                     \
    XX(ENOSPC, -23, "no space")             /* a write failed for space (SQLITE_FULL,   \
                                               ENOSPC, EDQUOT) */                       \
    XX(EBUSY, -24, "busy")                  /* over a count limit (queue, uploads) */

enum {
    DC_OK = 0,
#define DC__ERR_ENUM(name, value, msg) DC_##name = value,
    DC_ERR_MAP(DC__ERR_ENUM)
#undef DC__ERR_ENUM
};

typedef struct dc_err {
    int code;
    char msg[512];
} dc_err;

/* Sets e->code and a printf-formatted message; returns code (so: return dc_err_set(...)). */
int dc_err_set(dc_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The code's message from the table ("invalid argument"; "ok" for 0, "error" for a code
 * not in it). */
const char *dc_err_name(int code);

#endif
