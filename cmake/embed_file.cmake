# Writes OUT: a C file holding IN as a NUL-terminated byte array and its length.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR n "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
file(WRITE ${OUT} "/* generated; do not edit */\n#include <stddef.h>\nconst char openapi_yaml[] = {${hex}0x00};\nconst size_t openapi_yaml_len = ${n};\n")
