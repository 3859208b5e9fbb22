/* The host test runner: every test of core/ in one binary, built with ASan and UBSan. */
#include <sodium.h>
#include <stdio.h>

#include "check.h"
#include "fake_hal.h"
#include "tests.h"
#include "vectors.h"

int check_failed_now;

int main(int argc, char **argv)
{
    if (argc > 1) vectors_path = argv[1];
    if (sodium_init() < 0) {
        printf("libsodium failed to initialise\n");
        return 2;
    }
    const test_case *lists[] = {buf_tests,           b64_tests,
                                json_tests,          meter_tests,
                                cmd_tests,           pair_tests,
                                ota_tests,           plug_pairing_tests,
                                plug_commands_tests, plug_connection_tests,
                                plug_meter_tests,    plug_time_tests,
                                plug_ota_tests,      plug_tls_tests,
                                pake_work_tests};
    int passed = 0, failed = 0;
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++) {
        for (const test_case *t = lists[l]; t->name; t++) {
            fake_reset_all();
            check_failed_now = 0;
            t->fn();
            if (check_failed_now) {
                printf("not ok - %s\n", t->name);
                failed++;
            } else {
                printf("ok - %s\n", t->name);
                passed++;
            }
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
