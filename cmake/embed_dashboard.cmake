# Writes OUT: a C file holding the dashboard page (api/dashboard/index.html with its
# <link rel=stylesheet href=style.css> and <script src=app.js></script> replaced by the
# files' contents inline, so the service serves one self-contained page) as
# dashboard_html[] (NUL-terminated) and dashboard_html_len. DIR = api/dashboard.
file(READ ${DIR}/index.html html)
file(READ ${DIR}/style.css css)
file(READ ${DIR}/app.js js)
foreach(pair "<link rel=stylesheet href=style.css>|<style>\n${css}</style>"
             "<script src=app.js></script>|<script>\n${js}</script>")
  string(FIND "${pair}" "|" bar)
  string(SUBSTRING "${pair}" 0 ${bar} marker)
  math(EXPR from "${bar} + 1")
  string(SUBSTRING "${pair}" ${from} -1 inline)
  string(FIND "${html}" "${marker}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "embed_dashboard: ${DIR}/index.html lacks '${marker}'")
  endif()
  string(REPLACE "${marker}" "${inline}" html "${html}")
endforeach()
file(WRITE ${OUT}.page "${html}")
file(READ ${OUT}.page hex HEX)
string(LENGTH "${hex}" n)
math(EXPR n "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
file(WRITE ${OUT} "/* generated from api/dashboard/; do not edit */\n#include <stddef.h>\nconst char dashboard_html[] = {${hex}0x00};\nconst size_t dashboard_html_len = ${n};\n")
