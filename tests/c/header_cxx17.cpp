// The header compiles as C++17 alone and included twice (its declarations get C linkage).
#include "processes.h"
#include "processes.h"

#include <cstdio>
#include <cstring>

int main()
{
    prc_status status = PRC_STATUS_OK;
    prc_value *value = nullptr;
    prc_error *error = nullptr;
    status = prc_value_new_text("c++", &value, &error);
    bool ok = status == PRC_STATUS_OK && error == nullptr && prc_value_type_of(value) == PRC_VALUE_TYPE_TEXT &&
              std::strcmp(prc_version(), PRC_VERSION_STRING) == 0;
    prc_value_free(value);
    std::puts(ok ? "header_cxx17: ok" : "header_cxx17: failed");
    return ok ? 0 : 1;
}
