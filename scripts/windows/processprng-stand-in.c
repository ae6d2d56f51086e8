/*
 * A stand-in bcryptprimitives.dll for running onshi-desk.exe under Wine 8 in the tests only.
 *
 * Rust's standard library (1.78 and later) gets its random bytes from ProcessPrng in
 * bcryptprimitives.dll, which every supported Windows has. Wine 8.0 (Debian 12) does not
 * provide that DLL, so the exe would not start there. This DLL exports the one function,
 * filled from RtlGenRandom (advapi32's SystemFunction036, which Wine has).
 *
 * Never shipped: scripts/build-windows builds it into the Wine test prefix's system32 only;
 * the installer does not contain it.
 */
#include <windows.h>

/* RtlGenRandom's real export name; declared here so no NT header is needed. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    /* RtlGenRandom takes a ULONG length: fill in chunks. */
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
    (void)instance;
    (void)reason;
    (void)reserved;
    return TRUE;
}
