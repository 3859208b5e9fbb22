/* The firmware-signing TEST key's public half (Ed25519). Its seed is public: it is derived in
 * firmware/test/vectors/generate.ts (label "firmware-sign-seed"), so anyone can sign images it
 * accepts. Only the simulator and the host tests use it; a real plug's build must define
 * HEARTH_FW_RELEASE_PK (port/esp-idf, see its README) and never includes this file.
 * base64: BwOVZOCcqJaXBgXOGHGaKuXcJnC7gUZZZ2k7/8YuFA4= */
#ifndef HEARTH_FW_TEST_KEY_H
#define HEARTH_FW_TEST_KEY_H

#include <stdint.h>

static const uint8_t HEARTH_FW_TEST_PK[32] = {
    0x07, 0x03, 0x95, 0x64, 0xe0, 0x9c, 0xa8, 0x96,
    0x97, 0x06, 0x05, 0xce, 0x18, 0x71, 0x9a, 0x2a,
    0xe5, 0xdc, 0x26, 0x70, 0xbb, 0x81, 0x46, 0x59,
    0x67, 0x69, 0x3b, 0xff, 0xc6, 0x2e, 0x14, 0x0e};

#endif
