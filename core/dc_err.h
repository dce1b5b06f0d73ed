/* dc_err: the error convention of the whole project.
 *
 * Functions return 0 on success or a negative DC_E* code, and fill a dc_err with a
 * message meant for a person ("file.idx: truncated at byte 1234"). A NULL dc_err* is
 * allowed everywhere: the message is then dropped.
 *
 *   dc_err e = {0};
 *   if (data_load_idx(&ds, path, &e) < 0) fprintf(stderr, "%s\n", e.msg);
 */
#ifndef DC_ERR_H
#define DC_ERR_H

enum {
    DC_OK = 0,
    DC_EINVAL = -1,   /* bad argument or option */
    DC_ENOMEM = -2,   /* allocation failed */
    DC_EIO = -3,      /* read/write failed */
    DC_EFORMAT = -4,  /* malformed, truncated or inconsistent input */
    DC_ECANCEL = -5,  /* stopped by a callback */
    DC_ENUMERIC = -6, /* NaN/Inf appeared */
};

typedef struct dc_err {
    int code;
    char msg[512];
} dc_err;

/* Sets e->code and a printf-formatted message; returns code (so: return dc_err_set(...)). */
int dc_err_set(dc_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Short name of a code ("invalid argument", ...). */
const char *dc_err_name(int code);

#endif
