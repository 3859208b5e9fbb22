#ifndef HEARTH_TESTS_H
#define HEARTH_TESTS_H
#include "check.h"
extern const test_case buf_tests[], b64_tests[], json_tests[], meter_tests[], cmd_tests[],
    pair_tests[], plug_tests[], ota_tests[];
#endif
