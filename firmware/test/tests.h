#ifndef HEARTH_TESTS_H
#define HEARTH_TESTS_H
#include "check.h"
extern const test_case buf_tests[], b64_tests[], json_tests[], meter_tests[], cmd_tests[],
    pair_tests[], ota_tests[], plug_pairing_tests[], plug_commands_tests[],
    plug_connection_tests[], plug_meter_tests[], plug_time_tests[], plug_ota_tests[], plug_tls_tests[], pake_work_tests[];
#endif
