/*
 * A stand-in for Windows' bcryptprimitives.dll, for running the tests under wine 8, which
 * lacks it. Rust's standard library (1.78 and later) takes its random bytes from
 * ProcessPrng there; Windows 10 and later have it. This forwards to RtlGenRandom
 * (advapi32's SystemFunction036), which wine has. Never shipped: scripts/test-platforms.sh
 * puts it beside the programs it runs under wine.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
