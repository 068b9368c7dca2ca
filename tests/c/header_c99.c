/* The header compiles as C99 alone and included twice, and links against the static library. */
#include "processes.h"
#include "processes.h"

#include <stdio.h>
#include <string.h>

int main(void)
{
    prc_value *value = prc_value_new_int(PRC_VERSION_MAJOR);
    int ok = value != NULL && strcmp(prc_version(), PRC_VERSION_STRING) == 0;
    prc_value_free(value);
    puts(ok ? "header_c99: ok" : "header_c99: version mismatch");
    return ok ? 0 : 1;
}
