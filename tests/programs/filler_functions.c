/*
 * 1,024 functions that do nothing, linked into a test program so that
 * its function table is one the caches keep on disk
 * (FUNCTION_CACHE_MIN_FUNCS, preload/function_cache.h).
 */
#define FILLER(n) void filler_##n(void); void filler_##n(void) {}
#define FILLER4(n) FILLER(n##0) FILLER(n##1) FILLER(n##2) FILLER(n##3)
#define FILLER16(n) FILLER4(n##0) FILLER4(n##1) FILLER4(n##2) FILLER4(n##3)
#define FILLER64(n) FILLER16(n##0) FILLER16(n##1) FILLER16(n##2) FILLER16(n##3)
#define FILLER256(n) FILLER64(n##0) FILLER64(n##1) FILLER64(n##2) FILLER64(n##3)
#define FILLER1024(n) FILLER256(n##0) FILLER256(n##1) FILLER256(n##2) FILLER256(n##3)

FILLER1024(f)
